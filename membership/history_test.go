package membership

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestHistoryHashVector freezes the history hash: apply computes it, so a
// change would make a Raft log replay to a different state.
func TestHistoryHashVector(t *testing.T) {
	h := HistoryEntry{Index: 7, Time: time.Unix(1700000000, 5).In(time.FixedZone("ICT", 7*3600)), Actor: "alice",
		Action: "approve_registration", Target: "t", Detail: "d", PrevHash: hashA}
	const want = "25f4b1c6cc8d166381efbe039481dd262bc6b8bc50b5411c2d3c8b9ae0dbff41"
	if got := h.ComputeHash(); got != want {
		t.Fatalf("hash %s, want %s (the encoding changed?)", got, want)
	}
	g := h
	g.Actor, g.Action = "alicea", "pprove_registration"
	if g.ComputeHash() == want {
		t.Fatal("field boundary not in the hash")
	}
}

// historyHarness applies a few commands and returns the harness.
func historyHarness(t *testing.T) *harness {
	h := newHarness(t)
	a := h.admit("H26")
	h.must(&SuspendMember{Header: Header{Actor: "operator"}, Member: a.member, Reason: "audit"})
	h.must(&ReactivateMember{Header: Header{Actor: "operator"}, Member: a.member, Reason: "audit passed"})
	if err := h.do(&SuspendMember{Header: Header{Actor: "operator"}, Member: "nope"}, false); err == nil {
		t.Fatal("refused command accepted") // and it leaves no history entry
	}
	return h
}

func TestHistoryChainTamper(t *testing.T) {
	h := historyHarness(t)
	hist := h.st.History
	if n, err := VerifyHistory(hist); n != len(hist) || n != 5 || err != nil {
		t.Fatalf("VerifyHistory: %d of %d: %v", n, len(hist), err)
	}
	if hist[0].PrevHash != "" || hist[0].Hash == "" || hist[3].PrevHash != hist[2].Hash {
		t.Fatalf("chain: %+v", hist)
	}
	if n, err := VerifyHistory(nil); n != 0 || err != nil {
		t.Fatalf("empty: %d %v", n, err)
	}

	// Every replica derives the same chain: a second harness with the same
	// commands at the same times is not possible (fresh keys), but the
	// canonical encoding round-trips the hashes unchanged.
	again, err := DecodeState(h.encode())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.History, hist) || !bytes.Equal(mustEncode(t, again), h.encode()) {
		t.Fatal("hashes changed through the encoding")
	}

	for _, tc := range []struct {
		name string
		fn   func(hs []HistoryEntry) []HistoryEntry
		want string
	}{
		{"actor", func(hs []HistoryEntry) []HistoryEntry { hs[2].Actor = "mallory"; return hs }, "index 3: hash"},
		{"detail", func(hs []HistoryEntry) []HistoryEntry { hs[4].Detail += "!"; return hs }, "index 5: hash"},
		{"time", func(hs []HistoryEntry) []HistoryEntry { hs[1].Time = hs[1].Time.Add(time.Nanosecond); return hs }, "index 2: hash"},
		{"index", func(hs []HistoryEntry) []HistoryEntry { hs[0].Index = 9; return hs }, "index 9: hash"},
		{"rehashed", func(hs []HistoryEntry) []HistoryEntry {
			hs[1].Target = "x"
			hs[1].Hash = hs[1].ComputeHash()
			return hs
		}, "index 3: prev_hash"},
		{"removed", func(hs []HistoryEntry) []HistoryEntry { return slices.Delete(hs, 2, 3) }, "index 4: prev_hash"},
		{"swapped", func(hs []HistoryEntry) []HistoryEntry { hs[1], hs[2] = hs[2], hs[1]; return hs }, "index 3: prev_hash"},
		{"rehashed out of order", func(hs []HistoryEntry) []HistoryEntry {
			hs[2].Index = hs[0].Index
			hs[2].Hash = hs[2].ComputeHash()
			hs[3].PrevHash = hs[2].Hash
			hs[3].Hash = hs[3].ComputeHash()
			hs[4].PrevHash = hs[3].Hash
			hs[4].Hash = hs[4].ComputeHash()
			return hs
		}, "index 1 follows index 2"},
		{"first cut", func(hs []HistoryEntry) []HistoryEntry { return hs[1:] }, "index 2: prev_hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := tc.fn(slices.Clone(hist))
			if _, err := VerifyHistory(hs); !errors.Is(err, ErrHistoryChain) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrHistoryChain naming %q", err, tc.want)
			}
		})
	}
}

func mustEncode(t *testing.T, s *State) []byte {
	t.Helper()
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHistoryLegacySnapshot: a state encoded before the history was chained
// decodes to the chain a full replay of the log builds.
func TestHistoryLegacySnapshot(t *testing.T) {
	h := historyHarness(t)
	old := h.st.Clone()
	for i := range old.History {
		old.History[i].PrevHash, old.History[i].Hash = "", ""
	}
	legacy := mustEncode(t, old)
	if bytes.Contains(legacy, []byte(`"hash"`)) {
		t.Fatal("an unchained history still encodes hashes")
	}
	st, err := DecodeState(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustEncode(t, st), h.encode()) {
		t.Fatal("a legacy snapshot decodes to another chain than replay builds")
	}
	// Applying on from the restored state continues the same chain.
	h.st = st
	h.must(&SuspendMember{Header: Header{Actor: "operator"}, Member: testInstance + "/GOV/H26", Reason: "again"})
	if n, err := VerifyHistory(h.st.History); err != nil || n != 6 {
		t.Fatalf("after restore: %d %v", n, err)
	}
}

func TestHistoryExportVerify(t *testing.T) {
	h := historyHarness(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range h.st.History {
		enc.Encode(e)
	}
	export := buf.String()
	n, last, err := VerifyHistoryExport(strings.NewReader(export))
	if err != nil || n != 5 || last.Hash != h.st.History[4].Hash {
		t.Fatalf("verify: %d %+v %v", n, last, err)
	}
	lines := strings.SplitAfter(export, "\n")
	for _, tc := range []struct{ name, export, want string }{
		{"changed byte", strings.Replace(export, `"actor":"operator"`, `"actor":"operatos"`, 1), "hash does not match"},
		{"dropped line", lines[0] + lines[2] + lines[3], "index 3: prev_hash"},
		{"unknown field", strings.Replace(export, `"detail"`, `"detaim"`, 1), "entry "},
		{"truncated", export[:len(export)-5], "entry 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.export == export {
				t.Fatal("the test changed nothing")
			}
			if _, _, err := VerifyHistoryExport(strings.NewReader(tc.export)); !errors.Is(err, ErrHistoryChain) ||
				!strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrHistoryChain naming %q", err, tc.want)
			}
		})
	}
}

// TestHTTPAPIHistoryExport: the export endpoint (viewer and up) streams the
// whole history as JSON lines that verify and match the listing; the client
// fails over to a live server.
func TestHTTPAPIHistoryExport(t *testing.T) {
	a := newAPICluster(t)
	ctx := ctxT(t, 60*time.Second)
	f1, f2 := a.followers()

	if r := a.call(f1, http.MethodGet, "/v1/admin/history/export", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	leader := a.c.server(a.c.leaderIndex())
	viewer, _, err := leader.CreateOperator(ctx, "alice", "vera", RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ History []HistoryEntry }
	waitFor(t, 10*time.Second, "vera on f1", func() bool {
		r := a.call(f1, http.MethodGet, "/v1/admin/history?limit=10000", viewer, nil)
		return r.status == http.StatusOK && json.Unmarshal(r.body, &list) == nil && list.History[len(list.History)-1].Target == "vera"
	})
	r := a.must(a.call(f1, http.MethodGet, "/v1/admin/history/export", viewer, nil), http.StatusOK)
	n, last, err := VerifyHistoryExport(bytes.NewReader(r.body))
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
	if m, _, err := VerifyHistoryExport(&buf); err != nil || m < n {
		t.Fatalf("client export: %d entries: %v", m, err)
	}
	// Every server holds the same chain.
	a.c.waitConverged()
	for i := range 3 {
		a.c.server(i).fsm.read(func(st *State) {
			if got := st.History[len(st.History)-1].Hash; got != last.Hash || len(st.History) != n {
				t.Errorf("server %d: %d entries, head %s; want %d, %s", i, len(st.History), got, n, last.Hash)
			}
			if _, err := VerifyHistory(st.History); err != nil {
				t.Errorf("server %d: %v", i, err)
			}
		})
	}
	if err := a.client(t, []string{a.urls[f1]}, "").ExportHistory(ctx, &buf); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("client without a token: %v", err)
	}
}
