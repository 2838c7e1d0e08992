package services

import (
	"fmt"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
)

// LGSPRoute maps the LGSP path prefix /{Version}/{Domain}/{Resource} to a
// DXL service. Version, Domain and Resource are 1..64 characters from
// A-Z a-z 0-9 . - _ (not "." or ".."); Service is a full service ID
// (INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]).
type LGSPRoute struct {
	Version  string `json:"version"`
	Domain   string `json:"domain"`
	Resource string `json:"resource"`
	Service  string `json:"service"`
}

type lgspKey struct{ version, domain, resource string }

// LGSPMap resolves LGSP paths (/{version}/{domain}/{resource}[/rest...]) to
// services. It is immutable and safe for concurrent use.
type LGSPMap struct {
	routes map[lgspKey]ServiceID
}

// NewLGSPMap checks and indexes routes. A malformed part, a service ID
// that does not parse and a (version, domain, resource) listed twice are
// refused with an error wrapping ErrLGSP.
func NewLGSPMap(routes []LGSPRoute) (*LGSPMap, error) {
	m := &LGSPMap{routes: make(map[lgspKey]ServiceID, len(routes))}
	for i, r := range routes {
		for _, p := range [...]struct{ name, v string }{{"version", r.Version}, {"domain", r.Domain}, {"resource", r.Resource}} {
			if err := ident.CheckPart(p.v); err != nil || p.v == "." || p.v == ".." {
				return nil, fmt.Errorf("%w: route %d: %s %q must be 1..%d characters from A-Z a-z 0-9 . - _, not a dot segment", ErrLGSP, i, p.name, p.v, ident.MaxPart)
			}
		}
		svc, err := ParseServiceID(r.Service)
		if err != nil {
			// One sentinel per error: the ID error is text here.
			return nil, fmt.Errorf("%w: route %d: service: %v", ErrLGSP, i, err)
		}
		k := lgspKey{r.Version, r.Domain, r.Resource}
		if _, dup := m.routes[k]; dup {
			return nil, fmt.Errorf("%w: route %d: /%s/%s/%s listed twice", ErrLGSP, i, r.Version, r.Domain, r.Resource)
		}
		m.routes[k] = svc
	}
	return m, nil
}

// Len returns the number of routes.
func (m *LGSPMap) Len() int { return len(m.routes) }

// Lookup resolves path, the request target as received (starting with
// "/", optionally with a query string). The first three segments must
// equal the version, domain and resource of a route exactly (no decoding,
// no case folding). rest is what follows them, starting with "/" ("/" when
// nothing follows), with the query string kept: "/v1/hr/persons/42?x=1"
// gives "/42?x=1" and "/v1/hr/persons?x=1" gives "/?x=1". ok is false when
// no route matches.
func (m *LGSPMap) Lookup(path string) (service ServiceID, rest string, ok bool) {
	p, query, hasQuery := strings.Cut(path, "?")
	if !strings.HasPrefix(p, "/") {
		return ServiceID{}, "", false
	}
	var k lgspKey
	s := p[1:]
	for i, dst := range [...]*string{&k.version, &k.domain, &k.resource} {
		j := strings.IndexByte(s, '/')
		if j < 0 {
			if i < 2 {
				return ServiceID{}, "", false
			}
			*dst, s = s, ""
			break
		}
		*dst, s = s[:j], s[j:] // s keeps its leading "/"
		if i < 2 {
			s = s[1:]
		}
	}
	svc, ok := m.routes[k]
	if !ok {
		return ServiceID{}, "", false
	}
	if s == "" {
		s = "/"
	}
	if hasQuery {
		s += "?" + query
	}
	return svc, s, true
}
