package services

import (
	"fmt"
	"net/netip"
	"strings"
)

// MaxIPRules caps the entries of one allow or deny list.
const MaxIPRules = 4096

// IPList is an allow and a deny list of addresses or CIDR prefixes
// ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7").
type IPList struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// IPRules is node.json's ip_rules: lists for the whole information-system
// API and, per service (unversioned ID), lists that apply to calls of it.
type IPRules struct {
	IPList
	Services map[string]IPList `json:"services,omitempty"`
}

// IPFilter is compiled IPRules. A nil *IPFilter allows every address.
type IPFilter struct {
	api      ipSet
	services map[string]ipSet // by unversioned service ID
}

type ipSet struct{ allow, deny []netip.Prefix }

// allows: a deny entry matching wins; then a non-empty allow list must
// match.
func (s ipSet) allows(ip netip.Addr) bool {
	for _, p := range s.deny {
		if p.Contains(ip) {
			return false
		}
	}
	if len(s.allow) == 0 {
		return true
	}
	for _, p := range s.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Compile checks every entry; an error wraps ErrInvalidRule and names the
// list and the offending entry.
func (r *IPRules) Compile() (*IPFilter, error) {
	if r == nil {
		return nil, nil
	}
	f := &IPFilter{services: map[string]ipSet{}}
	var err error
	if f.api, err = compileList("ip_rules", r.IPList); err != nil {
		return nil, err
	}
	for svc, l := range r.Services {
		id, err := ParseServiceID(svc)
		if err != nil {
			return nil, fmt.Errorf("%w: ip_rules.services: %q: %v", ErrInvalidRule, svc, err)
		}
		if id.Version != "" {
			return nil, fmt.Errorf("%w: ip_rules.services: %q: name the service without a version", ErrInvalidRule, svc)
		}
		if f.services[svc], err = compileList("ip_rules.services["+svc+"]", l); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func compileList(where string, l IPList) (ipSet, error) {
	var s ipSet
	for _, part := range []struct {
		name    string
		entries []string
		dst     *[]netip.Prefix
	}{{"allow", l.Allow, &s.allow}, {"deny", l.Deny, &s.deny}} {
		if len(part.entries) > MaxIPRules {
			return s, fmt.Errorf("%w: %s.%s: %d entries, over %d", ErrInvalidRule, where, part.name, len(part.entries), MaxIPRules)
		}
		for i, e := range part.entries {
			p, err := parsePrefix(e)
			if err != nil {
				return s, fmt.Errorf("%w: %s.%s[%d] %q: %v", ErrInvalidRule, where, part.name, i, e, err)
			}
			*part.dst = append(*part.dst, p)
		}
	}
	return s, nil
}

// parsePrefix reads a CIDR prefix or a single address; a prefix with host
// bits set ("10.0.0.1/8") is refused as a likely typo. IPv4-mapped IPv6
// forms are refused: write the IPv4 form.
func parsePrefix(e string) (netip.Prefix, error) {
	if !strings.Contains(e, "/") {
		a, err := netip.ParseAddr(e)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an address or CIDR prefix")
		}
		if a.Zone() != "" || a.Is4In6() {
			return netip.Prefix{}, fmt.Errorf("zoned or IPv4-mapped address")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(e)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an address or CIDR prefix")
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix")
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("host bits set (did you mean %s?)", p.Masked())
	}
	return p, nil
}

// CheckAPI is nil when ip may use the information-system API, else an
// error wrapping ErrIPDenied.
func (f *IPFilter) CheckAPI(ip netip.Addr) error {
	if f == nil || f.api.allows(ip.Unmap()) {
		return nil
	}
	return fmt.Errorf("%w: %s may not use this node's API", ErrIPDenied, ip.Unmap())
}

// CheckService is nil when ip may call service (any version), else an
// error wrapping ErrIPDenied.
func (f *IPFilter) CheckService(ip netip.Addr, service ServiceID) error {
	if f == nil {
		return nil
	}
	s, ok := f.services[service.Unversioned().String()]
	if !ok || s.allows(ip.Unmap()) {
		return nil
	}
	return fmt.Errorf("%w: %s may not call %s", ErrIPDenied, ip.Unmap(), service.Unversioned())
}
