package services

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkCheck: 10,000 rules over 100 services (50 subsystem rules, 25
// per-endpoint rules, 20 local-group and 5 global-group rules each);
// checks an allowed per-endpoint call and a denied one.
func BenchmarkCheck(b *testing.B) {
	groups := &fakeGroups{m: map[string][]string{}}
	cfg := AccessConfig{LocalGroups: map[string][]string{}}
	for g := range 20 {
		code := fmt.Sprintf("lg%d", g)
		cfg.LocalGroups[code] = []string{fmt.Sprintf("VN/GOV/L%d/app", g)}
	}
	for g := range 5 {
		groups.m[fmt.Sprintf("gg%d", g)] = []string{fmt.Sprintf("VN/GOV/G%d/app", g), "VN/GOV/X/app"}
	}
	for s := range 100 {
		svc := fmt.Sprintf("VN/GOV/PROV/hr/svc%d", s)
		for c := range 50 {
			cfg.Rules = append(cfg.Rules, Rule{Subject: fmt.Sprintf("VN/GOV/M%d/app", c), Service: svc})
		}
		for c := range 25 {
			cfg.Rules = append(cfg.Rules, Rule{Subject: fmt.Sprintf("VN/GOV/E%d/app", c), Service: svc, Method: "GET", Path: fmt.Sprintf("/r%d/*/items/**", s)})
		}
		for g := range 20 {
			cfg.Rules = append(cfg.Rules, Rule{Subject: fmt.Sprintf("local:lg%d", g), Service: svc, Method: "POST", Path: "/x"})
		}
		for g := range 5 {
			cfg.Rules = append(cfg.Rules, Rule{Subject: fmt.Sprintf("global:gg%d", g), Service: svc, Method: "GET", Path: "/g/*"})
		}
	}
	if len(cfg.Rules) != 10_000 {
		b.Fatalf("%d rules", len(cfg.Rules))
	}
	acl, err := NewACL(cfg, groups)
	if err != nil {
		b.Fatal(err)
	}
	svc := mustSvc(b, "VN/GOV/PROV/hr/svc57/v1")
	b.Run("allow-endpoint", func(b *testing.B) {
		c := mustSub(b, "VN/GOV/E7/app")
		b.ReportAllocs()
		for b.Loop() {
			if err := acl.Check(c, svc, "GET", "/r57/abc/items/1/2"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("allow-global-group", func(b *testing.B) {
		c := mustSub(b, "VN/GOV/X/app")
		b.ReportAllocs()
		for b.Loop() {
			if err := acl.Check(c, svc, "GET", "/g/1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("deny", func(b *testing.B) {
		c := mustSub(b, "VN/GOV/NOBODY/app")
		b.ReportAllocs()
		for b.Loop() {
			if err := acl.Check(c, svc, "GET", "/r57/abc/items"); err == nil {
				b.Fatal("allowed")
			}
		}
	})
}

func benchClients(b *testing.B) ([]SubsystemID, ServiceID) {
	cs := make([]SubsystemID, 1000)
	for i := range cs {
		cs[i] = mustSub(b, fmt.Sprintf("VN/GOV/M%d/app", i))
	}
	return cs, mustSvc(b, svcBase+"/v1")
}

// BenchmarkAllow: 1,000 clients on one service, real clock, budgets large
// enough that every call takes the full allow path.
func BenchmarkAllow(b *testing.B) {
	cfg := RateLimitConfig{Defaults: Limits{ReadsPerMin: 1 << 30, WritesPerMin: 1 << 30}}
	b.Run("sequential", func(b *testing.B) {
		l, err := NewLimiter(cfg)
		if err != nil {
			b.Fatal(err)
		}
		cs, svc := benchClients(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Allow(cs[i%len(cs)], svc, "GET")
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l, err := NewLimiter(cfg)
		if err != nil {
			b.Fatal(err)
		}
		cs, svc := benchClients(b)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(7919))
			for pb.Next() {
				l.Allow(cs[i%len(cs)], svc, "POST")
				i++
			}
		})
	})
}
