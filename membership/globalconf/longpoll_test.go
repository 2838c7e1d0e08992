package globalconf

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHandlerLongPoll: a conditional GET with ?wait= is held until the
// version changes (200 with the new copy) or the wait ends (304); plain and
// unconditional GETs are answered at once; beyond the cap of held requests
// a long-poll is answered at once; a bad wait is a 400 bad_wait.
func TestHandlerLongPoll(t *testing.T) {
	var (
		mu      sync.Mutex
		version uint64 = 12
		n       Notifier
	)
	h := Handler(func() ([]byte, uint64, error) {
		mu.Lock()
		defer mu.Unlock()
		return []byte(`{"v":` + ETag(version) + `}`), version, nil
	}, WithChanges(n.Changed), WithMaxWaiters(1), WithMaxWait(10*time.Second))
	do := func(query, inm string) *http.Response {
		req := httptest.NewRequest("GET", GlobalConfigPath+query, nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	if resp := do("?wait=5s", ""); resp.StatusCode != 200 {
		t.Fatalf("unconditional long-poll: %d", resp.StatusCode)
	}
	if resp := do("?wait=5s", `"11"`); resp.StatusCode != 200 {
		t.Fatalf("long-poll for an older version: %d", resp.StatusCode)
	}
	if resp := do("?wait=20ms", `"12"`); resp.StatusCode != 304 || resp.Header.Get("ETag") != `"12"` {
		t.Fatalf("long-poll that runs out: %d", resp.StatusCode)
	}

	held := make(chan *http.Response, 1)
	go func() { held <- do("?wait=10s", `"12"`) }()
	waitFor(t, "a held request", func() bool { return Waiters(h) == 1 })
	// The cap is one: a second long-poll is answered at once.
	if resp := do("?wait=10s", `"12"`); resp.StatusCode != 304 {
		t.Fatalf("long-poll beyond the cap: %d", resp.StatusCode)
	}
	n.Notify() // a change that leaves the version alone (a re-signing) keeps it held
	mu.Lock()
	version = 13
	mu.Unlock()
	n.Notify()
	resp := <-held
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"13"` || !strings.Contains(string(body), `"13"`) {
		t.Fatalf("held request after the change: %d %s %q", resp.StatusCode, resp.Header.Get("ETag"), body)
	}
	if Waiters(h) != 0 {
		t.Fatalf("%d requests still held", Waiters(h))
	}

	for _, q := range []string{"?wait=abc", "?wait=30", "?wait=-1s", "?wait=11s", "?wait=1s&wait=2s",
		"?wait=" + strings.Repeat("1", 40) + "s", "?wait=%zz"} {
		resp := do(q, `"13"`)
		var e apiError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 400 || e.Error.Code != "bad_wait" || e.Error.Message == "" {
			t.Fatalf("%s: %d %+v (%v)", q, resp.StatusCode, e, err)
		}
	}
	// A handler without WithChanges answers at once, a valid wait or not.
	plain := Handler(func() ([]byte, uint64, error) { return []byte("x"), 13, nil })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", GlobalConfigPath+"?wait=60s", nil)
	req.Header.Set("If-None-Match", `"13"`)
	plain.ServeHTTP(rec, req)
	if rec.Code != 304 {
		t.Fatalf("plain handler: %d", rec.Code)
	}
}

// TestClientLongPoll: Run with WithLongPoll holds one request at a time
// and picks up a new version as soon as the server has it, without a
// request per interval; against a server that does not hold requests it
// falls back to the interval instead of spinning.
func TestClientLongPoll(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	c := e.client(t, WithLongPoll(5*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, time.Hour) }()
	waitFor(t, "a held long-poll", func() bool { return Waiters(srv.h) == 1 })
	srv.set(e.signed(t, 11, time.Second), 11)
	waitFor(t, "version 11", func() bool { d, _, _ := c.Current(); return d != nil && d.Version == 11 })
	waitFor(t, "the next held long-poll", func() bool { return Waiters(srv.h) == 1 })
	if n := srv.requests.Load(); n > 4 {
		t.Fatalf("%d requests for two versions and a held poll", n)
	}
	// Accept is not blocked by a held request.
	if _, err := c.Accept(e.signed(t, 12, 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done

	// An older server answers at once: one request per interval, no spin.
	srv.noHold.Store(true)
	before := srv.requests.Load()
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- c.Run(ctx, time.Hour) }()
	waitFor(t, "a first answer", func() bool { return srv.requests.Load() > before })
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	if n := srv.requests.Load() - before; n != 1 {
		t.Fatalf("%d requests to a server that does not hold them, want 1 per interval", n)
	}
}

// TestHandlerStagger: past the first answer, a woken request waits up to
// the spread, and one whose client leaves meanwhile gets nothing written.
func TestHandlerStagger(t *testing.T) {
	var (
		mu      sync.Mutex
		version uint64 = 5
		n       Notifier
	)
	h := Handler(func() ([]byte, uint64, error) {
		mu.Lock()
		defer mu.Unlock()
		return []byte("copy"), version, nil
	}, WithChanges(n.Changed), WithStagger(1, time.Hour))
	type result struct {
		rec *httptest.ResponseRecorder
	}
	results := make(chan result, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 {
		go func() {
			req := httptest.NewRequestWithContext(ctx, "GET", GlobalConfigPath+"?wait=30s", nil)
			req.Header.Set("If-None-Match", `"5"`)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			results <- result{rec}
		}()
	}
	waitFor(t, "two held requests", func() bool { return Waiters(h) == 2 })
	mu.Lock()
	version = 6
	mu.Unlock()
	n.Notify()
	first := <-results
	if first.rec.Code != 200 || first.rec.Body.String() != "copy" {
		t.Fatalf("first woken request: %d %q", first.rec.Code, first.rec.Body.String())
	}
	waitFor(t, "the second one still waiting", func() bool { return Waiters(h) == 1 })
	cancel() // its client got the version elsewhere
	second := <-results
	if second.rec.Body.Len() != 0 || second.rec.Header().Get("ETag") != "" {
		t.Fatalf("a request whose client left got %d %q", second.rec.Code, second.rec.Body.String())
	}
}

// TestClientLongPollSuperseded: a copy accepted from elsewhere ends the
// long-poll in flight, and the next one names the new version.
func TestClientLongPollSuperseded(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	c := e.client(t, WithLongPoll(30*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, time.Hour) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "a held long-poll", func() bool { return Waiters(srv.h) == 1 && srv.lastINM.Load() == `"10"` })
	// The server has signed 11 but (staggering) has not answered yet; a
	// peer's copy arrives first.
	v11 := e.signed(t, 11, time.Second)
	srv.mu.Lock()
	srv.raw, srv.version = v11, 11
	srv.mu.Unlock()
	if _, err := c.Accept(v11); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a long-poll for version 11", func() bool { return Waiters(srv.h) == 1 && srv.lastINM.Load() == `"11"` })
}
