package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// postFrom sends a client-credentials token request from remote.
func (f *fixture) postFrom(t *testing.T, remote, id, secret string) *httptest.ResponseRecorder {
	t.Helper()
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", form)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	f.a.TokenHandler().ServeHTTP(rec, req)
	return rec
}

func wantThrottled(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body oauthError
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusTooManyRequests || body.Error != "auth_throttled" || rec.Header().Get("Retry-After") == "" || rec.Header().Get("X-Road-Error") != "Client.RateLimited" {
		t.Fatalf("want 429 auth_throttled with Retry-After, got %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}

func TestTokenThrottlesRepeatedFailures(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	cred, err := f.a.Create(ctx, testSubsystem)
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.a.Create(ctx, testSubsystem)
	if err != nil {
		t.Fatal(err)
	}
	const attacker, elsewhere = "198.51.100.7:4000", "203.0.113.9:5000"
	for i := range DefaultThrottleAfter {
		if rec := f.postFrom(t, attacker, cred.KeyID, "dxlcs_wrong"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i, rec.Code)
		}
	}
	// Throttled: even the right secret is refused, from the address and for the key.
	wantThrottled(t, f.postFrom(t, attacker, cred.KeyID, cred.Secret))
	rec := f.postFrom(t, attacker, cred.KeyID, cred.Secret)
	wantThrottled(t, rec)
	if rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1 (first backoff)", rec.Header().Get("Retry-After"))
	}
	wantThrottled(t, f.postFrom(t, elsewhere, cred.KeyID, cred.Secret))
	// Another key from another address is not affected.
	if rec := f.postFrom(t, elsewhere, other.KeyID, other.Secret); rec.Code != http.StatusOK {
		t.Fatalf("unrelated key and address: %d %s", rec.Code, rec.Body)
	}
	if got := counterValue(t, f.a.m.failures); got != DefaultThrottleAfter {
		t.Fatalf("dxl_token_failures_total = %v", got)
	}
	if got := counterValue(t, f.a.m.throttled.WithLabelValues("client")); got == 0 {
		t.Fatal("dxl_token_throttled_total{scope=client} not counted")
	}

	// One more failure after the backoff doubles it.
	f.clock.Advance(DefaultThrottleBackoff)
	if rec := f.postFrom(t, attacker, cred.KeyID, "dxlcs_wrong"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after backoff, wrong secret: %d", rec.Code)
	}
	rec = f.postFrom(t, attacker, cred.KeyID, cred.Secret)
	wantThrottled(t, rec)
	if rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("Retry-After %q after a 6th failure, want 2", rec.Header().Get("Retry-After"))
	}
	f.clock.Advance(2 * DefaultThrottleBackoff)
	if rec := f.postFrom(t, attacker, cred.KeyID, cred.Secret); rec.Code != http.StatusOK {
		t.Fatalf("after backoff, right secret: %d %s", rec.Code, rec.Body)
	}
	// A success resets the count: one failure does not throttle again.
	if rec := f.postFrom(t, attacker, cred.KeyID, "dxlcs_wrong"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after success, wrong secret: %d", rec.Code)
	}
	if rec := f.postFrom(t, attacker, cred.KeyID, cred.Secret); rec.Code != http.StatusOK {
		t.Fatalf("after reset, right secret: %d %s", rec.Code, rec.Body)
	}
}

func TestTokenThrottlesAnAddressTryingManyKeys(t *testing.T) {
	f := newFixture(t, nil)
	cred, err := f.a.Create(context.Background(), testSubsystem)
	if err != nil {
		t.Fatal(err)
	}
	const attacker = "[2001:db8::1]:4000"
	for i := range DefaultThrottleAfter {
		f.postFrom(t, attacker, "dxlck_guess"+strings.Repeat("x", i), "dxlcs_wrong")
	}
	wantThrottled(t, f.postFrom(t, "[2001:db8::1]:4001", cred.KeyID, cred.Secret))
	if rec := f.postFrom(t, "[2001:db8::2]:4000", cred.KeyID, cred.Secret); rec.Code != http.StatusOK {
		t.Fatalf("other address: %d %s", rec.Code, rec.Body)
	}
}

func TestThrottleBackoffCapAndEviction(t *testing.T) {
	th := newThrottle(2, time.Second, 8*time.Second, 3)
	now := testEpoch
	for range 10 {
		th.fail("k", now)
	}
	if d := th.blocked("k", now); d != 8*time.Second {
		t.Fatalf("capped backoff %v, want 8s", d)
	}
	for _, k := range []string{"a", "b", "c"} {
		th.fail(k, now)
	}
	if th.len() != 3 || th.blocked("k", now) != 0 {
		t.Fatalf("entries %d; oldest key still blocked: %v", th.len(), th.blocked("k", now))
	}
}

func TestConfigValidateThrottle(t *testing.T) {
	base := Config{NodeID: testNode, Key: testKey(t), Store: NewMemStore()}
	for name, mod := range map[string]func(*Config){
		"after":   func(c *Config) { c.ThrottleAfter = -1 },
		"backoff": func(c *Config) { c.ThrottleBackoff = 10 * time.Minute },
		"entries": func(c *Config) { c.ThrottleEntries = -5 },
	} {
		c := base
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("%s: invalid config accepted", name)
		}
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
