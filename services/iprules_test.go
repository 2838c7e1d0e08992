package services

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestIPFilter(t *testing.T) {
	r := &IPRules{IPList: IPList{Allow: []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}, Deny: []string{"10.9.0.0/16"}},
		Services: map[string]IPList{"VN/GOV/H01/hr/persons": {Allow: []string{"10.1.0.0/16"}}}}
	f, err := r.Compile()
	if err != nil {
		t.Fatal(err)
	}
	persons, _ := ParseServiceID("VN/GOV/H01/hr/persons/v2")
	other, _ := ParseServiceID("VN/GOV/H01/hr/other")
	for _, c := range []struct {
		ip             string
		api, svc, othr bool
	}{
		{"10.1.2.3", true, true, true},
		{"::ffff:10.1.2.3", true, true, true}, // IPv4-mapped is its IPv4 form
		{"10.2.0.1", true, false, true},
		{"10.9.1.1", false, false, true}, // denied API-wide; the service list alone allows any
		{"192.0.2.7", true, false, true},
		{"192.0.2.8", false, false, true},
		{"2001:db8::1", true, false, true},
		{"2001:db9::1", false, false, true},
	} {
		ip := netip.MustParseAddr(c.ip)
		if got := f.CheckAPI(ip) == nil; got != c.api {
			t.Errorf("%s: API allowed %v", c.ip, got)
		}
		if got := f.CheckService(ip, persons) == nil; got != c.svc {
			t.Errorf("%s: persons allowed %v", c.ip, got)
		}
		if got := f.CheckService(ip, other) == nil; got != c.othr {
			t.Errorf("%s: other allowed %v", c.ip, got)
		}
	}
	if err := f.CheckAPI(netip.MustParseAddr("8.8.8.8")); !errors.Is(err, ErrIPDenied) || Codes.Code(err) != "ip_denied" || Codes.Status(err) != 403 {
		t.Errorf("denied: %v", err)
	}
	var none *IPFilter
	if none.CheckAPI(netip.MustParseAddr("8.8.8.8")) != nil || none.CheckService(netip.MustParseAddr("8.8.8.8"), persons) != nil {
		t.Error("a nil filter refuses")
	}
	if f, err := (*IPRules)(nil).Compile(); f != nil || err != nil {
		t.Errorf("nil rules: %v %v", f, err)
	}
}

func TestIPRulesRefusals(t *testing.T) {
	for _, c := range []struct {
		r    IPRules
		want string
	}{
		{IPRules{IPList: IPList{Allow: []string{"10.0.0.0/8", "10.0.0.300"}}}, `ip_rules.allow[1] "10.0.0.300"`},
		{IPRules{IPList: IPList{Deny: []string{"10.0.0.1/8"}}}, `ip_rules.deny[0] "10.0.0.1/8": host bits set (did you mean 10.0.0.0/8?)`},
		{IPRules{IPList: IPList{Deny: []string{"10.0.0.0/33"}}}, `ip_rules.deny[0]`},
		{IPRules{IPList: IPList{Deny: []string{"fe80::1%eth0"}}}, `zoned`},
		{IPRules{IPList: IPList{Deny: []string{"::ffff:10.0.0.0/104"}}}, `IPv4-mapped`},
		{IPRules{IPList: IPList{Allow: []string{""}}}, `ip_rules.allow[0] ""`},
		{IPRules{Services: map[string]IPList{"VN/GOV/H01/hr": {}}}, `ip_rules.services: "VN/GOV/H01/hr"`},
		{IPRules{Services: map[string]IPList{"VN/GOV/H01/hr/p/v1": {}}}, `without a version`},
		{IPRules{Services: map[string]IPList{"VN/GOV/H01/hr/p": {Allow: []string{"x"}}}}, `ip_rules.services[VN/GOV/H01/hr/p].allow[0] "x"`},
		{IPRules{IPList: IPList{Allow: make([]string, MaxIPRules+1)}}, `entries, over`},
	} {
		_, err := c.r.Compile()
		if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.r.IPList, err, c.want)
		}
	}
}
