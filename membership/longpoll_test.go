package membership

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
)

// TestLongPollWakesOnApproval: a long-poll held by a follower's
// GET /v1/global-config returns the new version as soon as that server has
// signed the approved member in, and a bad wait is a 400 bad_wait.
func TestLongPollWakesOnApproval(t *testing.T) {
	a := newAPICluster(t)
	f1, f2 := a.followers()
	waitFor(t, 10*time.Second, "a signed configuration", func() bool { d, _ := a.fetchConfig(f1); return d != nil })
	doc, _ := a.fetchConfig(f1)

	type answer struct {
		status int
		etag   string
		body   []byte
		err    error
	}
	held := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, a.urls[f1]+globalconf.GlobalConfigPath+"?wait=20s", nil)
		req.Header.Set("If-None-Match", globalconf.ETag(doc.Version))
		res, err := a.web.Do(req)
		if err != nil {
			held <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		held <- answer{res.StatusCode, res.Header.Get("ETag"), b, nil}
	}()
	waitFor(t, 10*time.Second, "the held request", func() bool { return globalconf.Waiters(a.pubs[f1].Handler()) == 1 })

	ap := regtest.NewApplicant(t, "H30")
	r := a.must(a.call(f2, http.MethodPost, "/v1/registrations", "", submitBody(ap)), http.StatusAccepted)
	var st client.RegistrationStatus
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	a.must(a.call(f2, http.MethodPost, "/v1/admin/registrations/"+st.RequestID+"/approve", a.token, nil), http.StatusOK)
	var got answer
	select {
	case got = <-held:
	case <-time.After(30 * time.Second):
		t.Fatal("the held request did not return")
	}
	if got.err != nil || got.status != http.StatusOK || got.etag == globalconf.ETag(doc.Version) {
		t.Fatalf("held request: %d %s %v", got.status, got.etag, got.err)
	}
	next, err := globalconf.Verify(got.body, a.anchor, time.Now())
	if err != nil || next.Version <= doc.Version {
		t.Fatalf("answer: %v, version %d", err, next.Version)
	}

	r = a.call(f1, http.MethodGet, globalconf.GlobalConfigPath+"?wait=10m", "", nil)
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"bad_wait"`) {
		t.Fatalf("wait=10m: %d %s", r.status, r.body)
	}
}
