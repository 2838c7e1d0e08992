package services

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock; tests never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(t testing.TB, cfg RateLimitConfig) (*Limiter, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	l, err := NewLimiter(cfg, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

// spend calls Allow n times and returns how many were allowed and the last
// retryAfter.
func spend(l *Limiter, c SubsystemID, s ServiceID, method string, n int) (int, time.Duration) {
	ok, ra := 0, time.Duration(0)
	for range n {
		allowed, r := l.Allow(c, s, method)
		if allowed {
			ok++
		}
		ra = r
	}
	return ok, ra
}

func TestLimiterBoundary(t *testing.T) {
	for _, tt := range []struct {
		method string
		n      int
		iv     time.Duration
	}{
		{"GET", DefaultReadsPerMin, 60 * time.Millisecond},
		{"HEAD", DefaultReadsPerMin, 60 * time.Millisecond},
		{"OPTIONS", DefaultReadsPerMin, 60 * time.Millisecond},
		{"POST", DefaultWritesPerMin, 200 * time.Millisecond},
		{"DELETE", DefaultWritesPerMin, 200 * time.Millisecond},
	} {
		t.Run(tt.method, func(t *testing.T) {
			l, clk := newTestLimiter(t, RateLimitConfig{})
			c, s := mustSub(t, cA), mustSvc(t, svcBase)
			if got, _ := spend(l, c, s, tt.method, tt.n); got != tt.n {
				t.Fatalf("allowed %d of the first %d", got, tt.n)
			}
			ok, ra := l.Allow(c, s, tt.method)
			if ok || ra != tt.iv {
				t.Fatalf("call %d: ok=%v retryAfter=%v, want refused with %v", tt.n+1, ok, ra, tt.iv)
			}
			if RetryAfter(ra) != "1" {
				t.Fatalf("Retry-After %q", RetryAfter(ra))
			}
			clk.Advance(ra - 1)
			if ok, _ := l.Allow(c, s, tt.method); ok {
				t.Fatal("allowed 1ns before retryAfter")
			}
			clk.Advance(1)
			if ok, _ := l.Allow(c, s, tt.method); !ok {
				t.Fatal("refused after waiting retryAfter")
			}
			if ok, _ := l.Allow(c, s, tt.method); ok {
				t.Fatal("second call after one interval allowed")
			}
			// A full minute refills the whole budget, and no more.
			clk.Advance(time.Minute)
			if got, _ := spend(l, c, s, tt.method, tt.n+1); got != tt.n {
				t.Fatalf("after a minute allowed %d, want %d", got, tt.n)
			}
		})
	}
}

func TestLimiterIsolation(t *testing.T) {
	l, clk := newTestLimiter(t, RateLimitConfig{})
	a, b := mustSub(t, cA), mustSub(t, cB)
	s1, s2 := mustSvc(t, svcBase), mustSvc(t, prov+"/other")
	spend(l, a, s1, "GET", 1000)
	if ok, _ := l.Allow(a, s1, "GET"); ok {
		t.Fatal("budget not spent")
	}
	// Writes are independent of reads.
	if got, _ := spend(l, a, s1, "POST", 300); got != 300 {
		t.Fatalf("writes allowed %d after reads exhausted", got)
	}
	// Another client, another service: own budgets.
	if got, _ := spend(l, b, s1, "GET", 1000); got != 1000 {
		t.Fatalf("client b allowed %d", got)
	}
	if got, _ := spend(l, a, s2, "GET", 1000); got != 1000 {
		t.Fatalf("service s2 allowed %d", got)
	}
	// Versions share the service's budget.
	if ok, _ := l.Allow(a, mustSvc(t, svcBase+"/v2"), "GET"); ok {
		t.Fatal("switching version bypassed the budget")
	}
	// Partial refill: 30 s gives back half the read budget.
	clk.Advance(30 * time.Second)
	if got, _ := spend(l, a, s1, "GET", 1000); got != 500 {
		t.Fatalf("after 30s allowed %d, want 500", got)
	}
}

func TestLimiterOverrides(t *testing.T) {
	cfg := RateLimitConfig{
		Defaults: Limits{ReadsPerMin: 100, WritesPerMin: 10},
		Overrides: []Override{
			{Service: svcBase, Limits: Limits{ReadsPerMin: 2000}},
			{Client: cB, Limits: Limits{WritesPerMin: 50}},
			{Client: cB, Service: svcBase, Limits: Limits{ReadsPerMin: 5}},
		},
	}
	l, _ := newTestLimiter(t, cfg)
	a, b, c := mustSub(t, cA), mustSub(t, cB), mustSub(t, cC)
	base, other := mustSvc(t, svcBase+"/v1"), mustSvc(t, prov+"/other")
	for _, tt := range []struct {
		client SubsystemID
		svc    ServiceID
		want   Limits
	}{
		{a, base, Limits{2000, 10}}, // service override, writes default
		{a, other, Limits{100, 10}}, // defaults
		{b, base, Limits{5, 50}},    // client+service reads, client writes
		{b, other, Limits{100, 50}}, // client override
		{c, base, Limits{2000, 10}},
	} {
		if got := l.LimitsFor(tt.client, tt.svc); got != tt.want {
			t.Errorf("LimitsFor(%s, %s) = %+v, want %+v", tt.client, tt.svc, got, tt.want)
		}
	}
	if got, _ := spend(l, b, base, "GET", 10); got != 5 {
		t.Fatalf("b allowed %d reads, want 5", got)
	}
	if got, _ := spend(l, a, base, "GET", 2001); got != 2000 {
		t.Fatalf("a allowed %d reads, want 2000", got)
	}
	if got, _ := spend(l, b, other, "PUT", 51); got != 50 {
		t.Fatalf("b allowed %d writes, want 50", got)
	}

	// Defaults come from R-T1 when unset.
	if got := (&Limiter{defaults: Limits{}}).LimitsFor(a, base); got != (Limits{}) {
		t.Fatal("zero limiter")
	}
	l2, _ := newTestLimiter(t, RateLimitConfig{})
	if got := l2.LimitsFor(a, base); got != (Limits{DefaultReadsPerMin, DefaultWritesPerMin}) {
		t.Fatalf("defaults %+v", got)
	}
}

func TestRateLimitConfigValidate(t *testing.T) {
	for i, cfg := range []RateLimitConfig{
		{Defaults: Limits{ReadsPerMin: -1}},
		{Overrides: []Override{{Limits: Limits{ReadsPerMin: 1}}}},
		{Overrides: []Override{{Client: "x", Limits: Limits{ReadsPerMin: 1}}}},
		{Overrides: []Override{{Service: svcBase + "/v1", Limits: Limits{ReadsPerMin: 1}}}},
		{Overrides: []Override{{Service: svcBase, Limits: Limits{WritesPerMin: -5}}}},
		{Overrides: []Override{{Client: cA}, {Client: cA}}},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("config %d: err=%v, want ErrInvalidConfig", i, err)
		}
		if _, err := NewLimiter(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewLimiter %d: err=%v", i, err)
		}
	}
}

func TestLimiterEviction(t *testing.T) {
	l, clk := newTestLimiter(t, RateLimitConfig{})
	s := mustSvc(t, svcBase)
	busy := mustSub(t, cA)
	for i := range 5000 {
		c := mustSub(t, fmt.Sprintf("VN/GOV/M%d/app", i))
		if ok, _ := l.Allow(c, s, "GET"); !ok {
			t.Fatal("first call refused")
		}
	}
	spend(l, busy, s, "GET", 1000) // busy's bucket is 60 s from refilled
	if l.Len() != 5001 {
		t.Fatalf("Len = %d", l.Len())
	}
	// Before the 60 ms interval passes nothing is idle.
	if n := l.Sweep(); n != 0 {
		t.Fatalf("swept %d too early", n)
	}
	clk.Advance(60 * time.Millisecond)
	if n := l.Sweep(); n != 5000 || l.Len() != 1 {
		t.Fatalf("swept %d, Len %d; want 5000, 1", n, l.Len())
	}
	// Eviction loses nothing: busy has exactly the one call refilled in
	// the 60 ms, not a fresh budget.
	if got, _ := spend(l, busy, s, "GET", 5); got != 1 {
		t.Fatalf("busy client allowed %d after sweep, want 1", got)
	}
	clk.Advance(time.Minute)
	l.Sweep()
	if l.Len() != 0 {
		t.Fatalf("Len = %d after everyone idled", l.Len())
	}

	// Growth triggers sweeps on its own: a stream of one-off clients, each
	// idle 60 ms later, never holds more than a few thresholds' worth.
	for i := range 200_000 {
		c := SubsystemID{Member: busy.Member, Subsystem: fmt.Sprintf("s%d", i)}
		l.Allow(c, s, "GET")
		clk.Advance(time.Millisecond)
	}
	if n := l.Len(); n > numShards*2*minSweepAfter {
		t.Fatalf("Len = %d: idle buckets not evicted", n)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l, _ := newTestLimiter(t, RateLimitConfig{})
	s := mustSvc(t, svcBase)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := mustSub(t, fmt.Sprintf("VN/GOV/M%d/app", g%2))
			n, _ := spend(l, c, s, "GET", 700)
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 2000 {
		t.Fatalf("two clients allowed %d in total, want exactly 2000", total)
	}
}
