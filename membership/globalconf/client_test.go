package globalconf

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clientEnv is a client against HTTPS registry stand-ins of the test CA.
type clientEnv struct {
	p      *testPKI
	clock  *fakeClock
	t0     time.Time
	dir    string
	anchor *Anchor
}

func newClientEnv(t *testing.T, servers ...string) *clientEnv {
	t.Helper()
	p, _ := pkis(t)
	t0 := time.Now().UTC()
	return &clientEnv{p: p, clock: newFakeClock(t0.Add(time.Minute)), t0: t0, dir: t.TempDir(), anchor: anchorFor(t, p, servers...)}
}

func (e *clientEnv) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{WithLogger(quiet), WithClock(e.clock.Now)}, opts...)
	c, err := NewClient(e.anchor, e.dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// signed returns a signed document of version v issued at t0+offset.
func (e *clientEnv) signed(t *testing.T, v uint64, offset time.Duration) []byte {
	t.Helper()
	return signDoc(t, e.p, sampleDoc(t, e.p, v, e.t0.Add(offset), 3, 3))
}

func mustFetch(t *testing.T, c *Client, want uint64) *Document {
	t.Helper()
	d, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != want {
		t.Fatalf("Fetch gave version %d, want %d", d.Version, want)
	}
	return d
}

// TestClientFetchVerifyCache: a first Fetch verifies, holds, caches (0600,
// exactly the served bytes) and reports the new version once.
func TestClientFetchVerifyCache(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	raw := e.signed(t, 10, 0)
	srv.set(raw, 10)
	var updates []uint64
	c := e.client(t, WithOnUpdate(func(d *Document) { updates = append(updates, d.Version) }))
	if _, _, err := c.Current(); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Current before any fetch: %v", err)
	}
	mustFetch(t, c, 10)
	d, age, err := c.Current()
	if err != nil || d.Version != 10 || age != time.Minute {
		t.Fatalf("Current = %v, %v, %v", d, age, err)
	}
	st, err := os.Stat(filepath.Join(e.dir, CacheFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("cache mode %v", st.Mode().Perm())
	}
	if cached, _ := os.ReadFile(filepath.Join(e.dir, CacheFile)); !bytes.Equal(cached, raw) || !bytes.Equal(c.Signed(), raw) {
		t.Fatal("cache or Signed() differ from the served bytes")
	}
	mustFetch(t, c, 10)
	if len(updates) != 1 || updates[0] != 10 {
		t.Fatalf("OnUpdate calls %v, want [10]", updates)
	}
}

// TestClientFailover: with the first server down, the client gets the
// configuration from the next one, whatever the shuffle.
func TestClientFailover(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, deadURL(t), srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for seed := range uint64(8) {
		c := e.client(t, WithLogger(logger), WithRand(rand.New(rand.NewPCG(seed, seed))))
		os.Remove(filepath.Join(e.dir, CacheFile))
		mustFetch(t, c, 10)
	}
	if !strings.Contains(logs.String(), "registry server gave no usable configuration") {
		t.Fatal("no shuffle tried the dead server first")
	}
}

// TestClientLearnsServersFromConfig: registry servers listed in the held
// configuration are tried as well as the anchor's.
func TestClientLearnsServersFromConfig(t *testing.T) {
	p, _ := pkis(t)
	first, second := newRegServer(t, p.serverTLS), newRegServer(t, p.serverTLS)
	e := newClientEnv(t, first.URL)
	d := sampleDoc(t, p, 10, e.t0, 2, 0)
	d.RegistryServers = []RegistryServer{{ID: "reg-2", URL: second.URL}}
	raw := signDoc(t, p, d)
	first.set(raw, 10)
	second.set(raw, 10)
	c := e.client(t)
	mustFetch(t, c, 10)
	first.Close()
	second.set(e.signed(t, 11, time.Second), 11)
	mustFetch(t, c, 11)
}

// TestClientRefusesOlderVersion: a server replaying an older signed
// configuration gets ErrStale; the held version stays, and a good server
// beside it still wins.
func TestClientRefusesOlderVersion(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	old, cur := e.signed(t, 5, 0), e.signed(t, 10, time.Second)
	srv.set(cur, 10)
	c := e.client(t)
	mustFetch(t, c, 10)
	srv.set(old, 5) // replay
	_, err := c.Fetch(context.Background())
	if !errors.Is(err, ErrStale) || !errors.Is(err, ErrNoServer) {
		t.Fatalf("replayed version 5: %v", err)
	}
	if d, _, _ := c.Current(); d.Version != 10 {
		t.Fatalf("held version %d after a replay", d.Version)
	}
	if cached, _ := os.ReadFile(filepath.Join(e.dir, CacheFile)); !bytes.Equal(cached, cur) {
		t.Fatal("replay overwrote the cache")
	}
	if _, err := c.Accept(old); !errors.Is(err, ErrStale) {
		t.Fatalf("Accept of an older version: %v", err)
	}
	good := newRegServer(t, p.serverTLS)
	good.set(cur, 10)
	e.anchor.Servers = append(e.anchor.Servers, good.URL)
	c2 := e.client(t)
	for range 4 {
		mustFetch(t, c2, 10)
	}
}

// TestClientNotModified: a client holding the served version sends
// If-None-Match and gets 304; a newer version comes as 200.
func TestClientNotModified(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	c := e.client(t)
	mustFetch(t, c, 10)
	if inm := srv.lastINM.Load(); inm != "" {
		t.Fatalf("first request carried If-None-Match %q", inm)
	}
	mustFetch(t, c, 10)
	if srv.lastINM.Load() != `"10"` || srv.status(304) != 1 {
		t.Fatalf("second fetch: If-None-Match %q, 304s %d", srv.lastINM.Load(), srv.status(304))
	}
	srv.set(e.signed(t, 11, time.Second), 11)
	mustFetch(t, c, 11)
	if srv.status(200) != 2 {
		t.Fatalf("200s %d, want 2", srv.status(200))
	}
}

// TestClientReissue: past half its validity the client asks without
// If-None-Match, and accepts a re-signed copy of the same version with a
// later issued_at (its age resets) but not one with other content.
func TestClientReissue(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	updates := atomic.Int64{}
	c := e.client(t, WithOnUpdate(func(*Document) { updates.Add(1) }))
	mustFetch(t, c, 10)
	e.clock.Advance(13 * time.Hour) // validity is 24 h
	mustFetch(t, c, 10)
	if srv.lastINM.Load() != "" || srv.status(304) != 0 {
		t.Fatal("refresh-due client still sent If-None-Match")
	}
	srv.set(e.signed(t, 10, 13*time.Hour), 10)
	mustFetch(t, c, 10)
	if _, age, err := c.Current(); err != nil || age != time.Minute {
		t.Fatalf("after re-issue: age %v, %v", age, err)
	}
	if updates.Load() != 1 {
		t.Fatalf("a re-issue counted as a new version (%d updates)", updates.Load())
	}
	e.clock.Advance(13 * time.Hour)
	d := sampleDoc(t, p, 10, e.t0.Add(26*time.Hour), 4, 3) // same version, one more member
	srv.set(signDoc(t, p, d), 10)
	if _, err := c.Fetch(context.Background()); !errors.Is(err, ErrStale) {
		t.Fatalf("same version, different content: %v", err)
	}
}

// TestClientCacheSurvivesRestart: a client restarted with every server down
// starts from the verified cache; Fetch fails with ErrNoServer and Current
// still answers.
func TestClientCacheSurvivesRestart(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	mustFetch(t, e.client(t), 10)
	srv.Close()
	e.clock.Advance(2 * time.Hour)
	c := e.client(t)
	d, age, err := c.Current()
	if err != nil || d.Version != 10 || age != 2*time.Hour+time.Minute {
		t.Fatalf("after restart: %v %v %v", d, age, err)
	}
	if _, err := c.Fetch(context.Background()); !errors.Is(err, ErrNoServer) {
		t.Fatalf("Fetch with the registry down: %v", err)
	}
	if d, _, err := c.Current(); err != nil || d.Version != 10 {
		t.Fatalf("Current after failed fetch: %v %v", d, err)
	}
}

// TestClientCorruptCacheIgnored: a cache that does not verify is ignored,
// not fatal.
func TestClientCorruptCacheIgnored(t *testing.T) {
	e := newClientEnv(t)
	if err := os.WriteFile(filepath.Join(e.dir, CacheFile), []byte(`{"config":"garbage"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.client(t).Current(); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Current with a corrupt cache: %v", err)
	}
	// A cache signed for another instance is ignored the same way.
	e.anchor.Instance = "VN"
	os.WriteFile(filepath.Join(e.dir, CacheFile), e.signed(t, 3, 0), 0o600)
	if _, _, err := e.client(t).Current(); !errors.Is(err, ErrNoConfig) {
		t.Fatalf("Current with another instance's cache: %v", err)
	}
}

// TestClientMaxAge: beyond the policy's max age Current returns the
// document with ErrTooOld; WithMaxAge overrides the policy.
func TestClientMaxAge(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t)
	if _, err := c.Accept(e.signed(t, 10, 0)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * 24 * time.Hour)
	d, _, err := c.Current()
	if err != nil || !d.Expired(e.clock.Now()) {
		t.Fatalf("expired but within max age: %v (expired %v)", err, d.Expired(e.clock.Now()))
	}
	e.clock.Advance(13 * 24 * time.Hour) // past the default 14-day max age
	d, age, err := c.Current()
	if !errors.Is(err, ErrTooOld) || d == nil || d.Version != 10 || age < 15*24*time.Hour {
		t.Fatalf("15 days old: version %v age %v err %v", d != nil && d.Version == 10, age, err)
	}
	if _, _, err := e.client(t, WithMaxAge(30*24*time.Hour)).Current(); err != nil {
		t.Fatalf("WithMaxAge(30d): %v", err)
	}
}

// TestClientPlainHTTP: http:// URLs are refused unless AllowInsecureHTTP.
func TestClientPlainHTTP(t *testing.T) {
	srv := newPlainRegServer(t)
	e := newClientEnv(t, srv.URL)
	srv.set(e.signed(t, 10, 0), 10)
	if _, err := NewClient(e.anchor, e.dir, WithLogger(quiet)); !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("plain http without the option: %v", err)
	}
	mustFetch(t, e.client(t, WithAllowInsecureHTTP()), 10)
	e.anchor.Servers = []string{strings.Replace(srv.URL, "http://", "HTTP://", 1)}
	if _, err := NewClient(e.anchor, e.dir, WithLogger(quiet)); !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("upper-case HTTP scheme without the option: %v", err)
	}
}

// TestBackoff: waits grow from RetryBase, stay within [d/2, d] and never
// exceed the interval, even after many failures.
func TestBackoff(t *testing.T) {
	e := newClientEnv(t)
	c := e.client(t, WithRetryBase(time.Hour))
	for n := 1; n < 100; n += 7 {
		if d := c.backoff(n, 24*time.Hour); d < time.Hour/2 || d > 24*time.Hour {
			t.Fatalf("backoff(%d) = %v", n, d)
		}
	}
	c = e.client(t, WithRetryBase(time.Second))
	if d := c.backoff(3, time.Minute); d < 2*time.Second || d > 4*time.Second {
		t.Fatalf("third wait %v, want 2s..4s", d)
	}
	if d := c.jitter(time.Minute, 0.1); d < 54*time.Second || d > 66*time.Second {
		t.Fatalf("jitter %v", d)
	}
}

// TestClientTLSTrust: registry servers must present a serverAuth
// certificate chaining to the anchor's root; host names are not checked.
func TestClientTLSTrust(t *testing.T) {
	p, other := pkis(t)
	good := newRegServer(t, p.serverTLS)
	noEKU := newRegServer(t, p.signTLS)
	foreign := newRegServer(t, other.serverTLS)
	e := newClientEnv(t, good.URL)
	raw := e.signed(t, 10, 0)
	for _, s := range []*regServer{good, noEKU, foreign} {
		s.set(raw, 10)
	}
	mustFetch(t, e.client(t), 10) // host 127.0.0.1 is in no certificate
	for name, s := range map[string]*regServer{"member-sign certificate": noEKU, "another CA": foreign} {
		e.anchor.Servers = []string{s.URL}
		os.Remove(filepath.Join(e.dir, CacheFile))
		_, err := e.client(t).Fetch(context.Background())
		if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "certificate") || s.requests.Load() != 0 {
			t.Fatalf("%s: %v (requests %d)", name, err, s.requests.Load())
		}
	}
}

// TestClientRevokedSigner: once the held configuration revokes the signing
// certificate, configurations signed with it are refused; a standby signer
// listed in the anchor takes over.
func TestClientRevokedSigner(t *testing.T) {
	e := newClientEnv(t)
	e.anchor.Signers = append(e.anchor.Signers, e.p.edCert)
	c := e.client(t)
	d := sampleDoc(t, e.p, 10, e.t0, 2, 0)
	d.Revoked = append(d.Revoked, RevokedCert{Serial: hexSerial(e.p), Reason: "keyCompromise", RevokedAt: e.t0})
	if _, err := c.Accept(signDoc(t, e.p, d)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Accept(e.signed(t, 11, time.Second)); !errors.Is(err, ErrChain) {
		t.Fatalf("config from a revoked signer: %v", err)
	}
	if _, err := c.Accept(signDocWith(t, sampleDoc(t, e.p, 11, e.t0, 2, 0), e.p.edKey, e.p.edCert)); err != nil {
		t.Fatalf("standby signer: %v", err)
	}
}

func hexSerial(p *testPKI) string {
	return hex.EncodeToString(p.ecCert.SerialNumber.Bytes())
}

// TestClientRun: Run picks up a new version and reports it through
// OnUpdate, backs off on failure, and returns when ctx ends.
func TestClientRun(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	var mu sync.Mutex
	var seen []uint64
	c := e.client(t, WithRetryBase(time.Millisecond), WithOnUpdate(func(d *Document) {
		mu.Lock()
		seen = append(seen, d.Version)
		mu.Unlock()
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, 20*time.Millisecond) }()
	// Nothing to serve yet: Run keeps retrying (503s).
	waitFor(t, "retries against an empty server", func() bool { return srv.status(503) >= 3 })
	srv.set(e.signed(t, 10, 0), 10)
	waitFor(t, "version 10", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 1 })
	srv.set(e.signed(t, 12, time.Second), 12)
	waitFor(t, "version 12", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 && seen[1] == 12 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

// TestClientConcurrent: concurrent Fetch, Accept and Current (run with -race).
func TestClientConcurrent(t *testing.T) {
	p, _ := pkis(t)
	srv := newRegServer(t, p.serverTLS)
	e := newClientEnv(t, srv.URL)
	versions := make([][]byte, 6)
	for i := range versions {
		versions[i] = e.signed(t, uint64(i+1), time.Duration(i)*time.Second)
	}
	srv.set(versions[5], 6)
	c := e.client(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				c.Accept(versions[(i+j)%5])
				c.Fetch(context.Background())
				c.Current()
			}
		})
	}
	wg.Wait()
	if d, _, err := c.Current(); err != nil || d.Version != 6 {
		t.Fatalf("after concurrent updates: %v %v", d, err)
	}
}
