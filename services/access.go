package services

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
)

// Groups resolves a global group code to its member subsystem IDs
// (INSTANCE/CLASS/MEMBER/SUBSYSTEM strings). The node backs it with the
// current signed global configuration, so membership changes take effect
// at the next Check without rebuilding the ACL. It must be safe for
// concurrent use; an unknown code has no members.
type Groups interface {
	Members(code string) []string
}

// SubjectKind says what a Subject names.
type SubjectKind uint8

// Subject kinds.
const (
	SubjectSubsystem   SubjectKind = iota + 1 // one client subsystem
	SubjectGlobalGroup                        // a global group of the signed configuration
	SubjectLocalGroup                         // a group defined in the provider's AccessConfig
)

// Subject is who a rule grants access to. Its text form is a subsystem ID,
// "global:CODE" or "local:CODE".
type Subject struct {
	Kind      SubjectKind
	Subsystem SubsystemID // SubjectSubsystem
	Group     string      // group code for the group kinds
}

// String returns the text form of s.
func (s Subject) String() string {
	switch s.Kind {
	case SubjectGlobalGroup:
		return "global:" + s.Group
	case SubjectLocalGroup:
		return "local:" + s.Group
	default:
		return s.Subsystem.String()
	}
}

// ParseSubject parses a subsystem ID, "global:CODE" or "local:CODE".
func ParseSubject(s string) (Subject, error) {
	for _, g := range []struct {
		prefix string
		kind   SubjectKind
	}{{"global:", SubjectGlobalGroup}, {"local:", SubjectLocalGroup}} {
		if code, ok := strings.CutPrefix(s, g.prefix); ok {
			if err := ident.CheckPart(code); err != nil {
				return Subject{}, fmt.Errorf("%w: subject %q: %v", ErrInvalidRule, s, err)
			}
			return Subject{Kind: g.kind, Group: code}, nil
		}
	}
	id, err := ParseSubsystemID(s)
	if err != nil {
		return Subject{}, fmt.Errorf("%w: subject: %v", ErrInvalidRule, err)
	}
	return Subject{Kind: SubjectSubsystem, Subsystem: id}, nil
}

// Endpoint is an HTTP method and a path pattern. Method "*" is any method.
// A pattern starts with "/" and is a sequence of segments: a literal
// matches itself, "*" matches exactly one non-empty segment, and "**", only
// as the last segment, matches zero or more remaining segments. "/" alone
// matches only the root. AllEndpoints is {"*", "/**"}.
type Endpoint struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

// AllEndpoints grants every method on every path.
var AllEndpoints = Endpoint{Method: "*", Path: "/**"}

// Rule grants Service, optionally limited to one endpoint, to Subject. The
// fields are text so that a provider's configuration file reads naturally.
type Rule struct {
	// Subject: subsystem ID, "global:CODE" or "local:CODE".
	Subject string `json:"subject"`
	// Service: a service ID; without a version it covers every version.
	Service string `json:"service"`
	// Method and Path select one endpoint; both empty means all endpoints,
	// an empty Method with a Path means any method on that path.
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
}

// AccessConfig is a provider's access-right configuration.
type AccessConfig struct {
	// LocalGroups maps a local group code to member subsystem IDs.
	LocalGroups map[string][]string `json:"local_groups,omitempty"`
	Rules       []Rule              `json:"rules"`
}

// MaxPatternLen caps the length of a path pattern.
const MaxPatternLen = 1024

// pathPattern is a compiled Endpoint path.
type pathPattern struct {
	segs []string // literal or "*"; never "**"
	tail bool     // ends with "**"
}

func compilePattern(p string) (pathPattern, error) {
	if len(p) == 0 || p[0] != '/' || len(p) > MaxPatternLen {
		return pathPattern{}, fmt.Errorf("%w: path pattern %q must start with / and be at most %d bytes", ErrInvalidRule, p, MaxPatternLen)
	}
	if p == "/" {
		return pathPattern{}, nil
	}
	parts := strings.Split(p[1:], "/")
	var pp pathPattern
	for i, s := range parts {
		switch {
		case s == "**" && i == len(parts)-1:
			pp.tail = true
		case s == "*":
			pp.segs = append(pp.segs, s)
		case s == "" || s == "." || s == ".." || strings.ContainsRune(s, '*'):
			return pathPattern{}, fmt.Errorf("%w: path pattern %q: segment %q (no empty or dot segments; * and ** stand alone, ** only last)", ErrInvalidRule, p, s)
		default:
			pp.segs = append(pp.segs, s)
		}
	}
	return pp, nil
}

// match reports whether path (which starts with "/") matches. It does not
// allocate.
func (pp *pathPattern) match(path string) bool {
	rest := path[1:]
	have := rest != "" // a segment remains (possibly an empty one)
	for _, s := range pp.segs {
		if !have {
			return false
		}
		var seg string
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			seg, rest = rest[:j], rest[j+1:]
		} else {
			seg, rest, have = rest, "", false
		}
		if s == "*" {
			if seg == "" {
				return false
			}
		} else if s != seg {
			return false
		}
	}
	return pp.tail || !have
}

// validPath reports whether path is absolute and free of dot segments,
// which Check refuses rather than interpret.
func validPath(path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for {
		j := strings.IndexByte(rest, '/')
		seg := rest
		if j >= 0 {
			seg = rest[:j]
		}
		if seg == "." || seg == ".." {
			return false
		}
		if j < 0 {
			return true
		}
		rest = rest[j+1:]
	}
}

func validMethod(m string) bool {
	if m == "*" {
		return true
	}
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

type grant struct {
	ep      Endpoint
	pattern pathPattern
}

func (g *grant) match(method, path string) bool {
	return (g.ep.Method == "*" || g.ep.Method == method) && g.pattern.match(path)
}

type groupGrant struct {
	code string
	grant
}

type serviceRules struct {
	direct   map[SubsystemID][]grant // subsystem and expanded local-group grants
	global   []groupGrant
	subjects []Subject // sorted, unique
}

// ACL is a compiled, immutable set of access rules, indexed by service and
// then by client. It is safe for concurrent use; rebuild it with NewACL when
// the provider's configuration changes (global group membership is read
// live through Groups).
type ACL struct {
	groups    Groups
	local     map[string]map[SubsystemID]struct{}
	byService map[ServiceID]*serviceRules
}

// NewACL compiles cfg. groups resolves global groups; it may be nil only if
// no rule names one. Errors wrap ErrInvalidRule.
func NewACL(cfg AccessConfig, groups Groups) (*ACL, error) {
	a := &ACL{groups: groups, local: make(map[string]map[SubsystemID]struct{}, len(cfg.LocalGroups)), byService: make(map[ServiceID]*serviceRules)}
	for _, code := range slices.Sorted(maps.Keys(cfg.LocalGroups)) { // sorted: deterministic errors
		members := cfg.LocalGroups[code]
		if err := ident.CheckPart(code); err != nil {
			return nil, fmt.Errorf("%w: local group code: %v", ErrInvalidRule, err)
		}
		set := make(map[SubsystemID]struct{}, len(members))
		for _, m := range members {
			id, err := ParseSubsystemID(m)
			if err != nil {
				return nil, fmt.Errorf("%w: local group %q: %v", ErrInvalidRule, code, err)
			}
			set[id] = struct{}{}
		}
		a.local[code] = set
	}
	for i, r := range cfg.Rules {
		if err := a.add(r); err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
	}
	for _, sr := range a.byService {
		slices.SortFunc(sr.subjects, func(x, y Subject) int { return strings.Compare(x.String(), y.String()) })
		sr.subjects = slices.CompactFunc(sr.subjects, func(x, y Subject) bool { return x == y })
	}
	return a, nil
}

func (a *ACL) add(r Rule) error {
	subj, err := ParseSubject(r.Subject)
	if err != nil {
		return err
	}
	svc, err := ParseServiceID(r.Service)
	if err != nil {
		return fmt.Errorf("%w: service: %v", ErrInvalidRule, err)
	}
	ep := Endpoint{Method: r.Method, Path: r.Path}
	if ep.Method == "" {
		ep.Method = "*"
	}
	if ep.Path == "" {
		if r.Method != "" {
			return fmt.Errorf("%w: method %q without a path", ErrInvalidRule, r.Method)
		}
		ep.Path = "/**"
	}
	if !validMethod(ep.Method) {
		return fmt.Errorf("%w: method %q (want * or an upper-case token)", ErrInvalidRule, ep.Method)
	}
	pp, err := compilePattern(ep.Path)
	if err != nil {
		return err
	}
	g := grant{ep: ep, pattern: pp}
	sr := a.byService[svc]
	if sr == nil {
		sr = &serviceRules{direct: make(map[SubsystemID][]grant)}
		a.byService[svc] = sr
	}
	switch subj.Kind {
	case SubjectSubsystem:
		sr.direct[subj.Subsystem] = append(sr.direct[subj.Subsystem], g)
	case SubjectLocalGroup:
		// Local groups are part of the same static configuration, so
		// they are expanded into per-client grants here.
		members, ok := a.local[subj.Group]
		if !ok {
			return fmt.Errorf("%w: local group %q is not defined", ErrInvalidRule, subj.Group)
		}
		for m := range members {
			sr.direct[m] = append(sr.direct[m], g)
		}
	case SubjectGlobalGroup:
		if a.groups == nil {
			return fmt.Errorf("%w: global group %q but no group resolver", ErrInvalidRule, subj.Group)
		}
		sr.global = append(sr.global, groupGrant{subj.Group, g})
	}
	sr.subjects = append(sr.subjects, subj)
	return nil
}

// Check returns nil when some rule grants client the endpoint (method,
// path) of service, and an error wrapping ErrAccessDenied otherwise. Rules
// on the unversioned service apply to every version. path is the decoded
// request path below the service; it must start with "/" and a path with
// "." or ".." segments is always denied. The error names the client,
// service, method and path only.
func (a *ACL) Check(client SubsystemID, service ServiceID, method, path string) error {
	return a.CheckIn(a.groups, client, service, method, path)
}

// CheckIn is Check with global groups resolved through groups (the
// configuration a call started with) instead of the ACL's own.
func (a *ACL) CheckIn(groups Groups, client SubsystemID, service ServiceID, method, path string) error {
	if validPath(path) {
		if a.allowed(groups, a.byService[service], client, method, path) {
			return nil
		}
		if service.Version != "" && a.allowed(groups, a.byService[service.Unversioned()], client, method, path) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s may not call %s %s on %s", ErrAccessDenied, client, method, path, service)
}

func (a *ACL) allowed(groups Groups, sr *serviceRules, client SubsystemID, method, path string) bool {
	if sr == nil {
		return false
	}
	direct := sr.direct[client]
	for i := range direct {
		if direct[i].match(method, path) {
			return true
		}
	}
	for i := range sr.global {
		g := &sr.global[i]
		if g.match(method, path) && inGlobal(groups, g.code, client) {
			return true
		}
	}
	return false
}

// AllowedMethods lists the endpoints client may call on service (rules on
// the service and on its unversioned form), unique and sorted by path then
// method: the content of the allowedMethods metadata call. A grant of the
// whole service appears as AllEndpoints.
func (a *ACL) AllowedMethods(client SubsystemID, service ServiceID) []Endpoint {
	var out []Endpoint
	collect := func(sr *serviceRules) {
		if sr == nil {
			return
		}
		for _, g := range sr.direct[client] {
			out = append(out, g.ep)
		}
		for _, g := range sr.global {
			if inGlobal(a.groups, g.code, client) {
				out = append(out, g.ep)
			}
		}
	}
	collect(a.byService[service])
	if service.Version != "" {
		collect(a.byService[service.Unversioned()])
	}
	slices.SortFunc(out, func(x, y Endpoint) int {
		return cmp.Or(strings.Compare(x.Path, y.Path), strings.Compare(x.Method, y.Method))
	})
	return slices.Compact(out)
}

// Clients lists the subjects holding a right on service (on the service
// itself and, for a versioned ID, on its unversioned form), unique and
// sorted by text form: the content of the listClients metadata call.
// Groups are listed as groups, not expanded.
func (a *ACL) Clients(service ServiceID) []Subject {
	var out []Subject
	if sr := a.byService[service]; sr != nil {
		out = append(out, sr.subjects...)
	}
	if service.Version != "" {
		if sr := a.byService[service.Unversioned()]; sr != nil {
			out = append(out, sr.subjects...)
		}
	}
	slices.SortFunc(out, func(x, y Subject) int { return strings.Compare(x.String(), y.String()) })
	return slices.Compact(out)
}

// inGlobal reports whether client is a member of global group code.
func inGlobal(groups Groups, code string, client SubsystemID) bool {
	for _, m := range groups.Members(code) {
		if client.is(m) {
			return true
		}
	}
	return false
}
