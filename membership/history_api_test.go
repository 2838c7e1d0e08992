package membership

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// TestHTTPAPIHistoryExport: the export endpoint (viewer and up) streams the
// whole history as JSON lines that verify and match the listing; the client
// fails over to a live server.
func TestHTTPAPIHistoryExport(t *testing.T) {
	a := newAPICluster(t)
	ctx := storetest.Context(t, 60*time.Second)
	f1, f2 := a.followers()

	if r := a.call(f1, http.MethodGet, "/v1/admin/history/export", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	leader := a.c.Server(a.c.LeaderIndex())
	viewer, _, err := leader.CreateOperator(ctx, "alice", "vera", state.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ History []state.HistoryEntry }
	waitFor(t, 10*time.Second, "vera on f1", func() bool {
		r := a.call(f1, http.MethodGet, "/v1/admin/history?limit=10000", viewer, nil)
		return r.status == http.StatusOK && json.Unmarshal(r.body, &list) == nil && list.History[len(list.History)-1].Target == "vera"
	})
	r := a.must(a.call(f1, http.MethodGet, "/v1/admin/history/export", viewer, nil), http.StatusOK)
	n, last, err := state.VerifyHistoryExport(bytes.NewReader(r.body))
	if err != nil || n != len(list.History) || last.Hash != list.History[n-1].Hash || n < 5 {
		t.Fatalf("export of %d entries (listing %d): %v", n, len(list.History), err)
	}
	if lines := bytes.Count(r.body, []byte("\n")); lines != n {
		t.Fatalf("%d lines for %d entries", lines, n)
	}

	c := a.client(t, []string{deadURL(t), a.urls[f2]}, a.token)
	var buf bytes.Buffer
	if err := c.ExportHistory(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if m, _, err := state.VerifyHistoryExport(&buf); err != nil || m < n {
		t.Fatalf("client export: %d entries: %v", m, err)
	}
	// Every server holds the same chain.
	a.c.WaitConverged()
	for i := range 3 {
		a.c.Server(i).Read(func(st *state.State) {
			if got := st.History[len(st.History)-1].Hash; got != last.Hash || len(st.History) != n {
				t.Errorf("server %d: %d entries, head %s; want %d, %s", i, len(st.History), got, n, last.Hash)
			}
			if _, err := state.VerifyHistory(st.History); err != nil {
				t.Errorf("server %d: %v", i, err)
			}
		})
	}
	if err := a.client(t, []string{a.urls[f1]}, "").ExportHistory(ctx, &buf); !errors.Is(err, state.ErrUnauthenticated) {
		t.Fatalf("client without a token: %v", err)
	}
}
