package services

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fakeGroups is a mutable Groups, standing in for the signed configuration.
type fakeGroups struct {
	mu sync.Mutex
	m  map[string][]string
}

func (g *fakeGroups) Members(code string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[code]
}

func (g *fakeGroups) set(code string, members ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.m[code] = members
}

const (
	prov    = "VN/GOV/PROV/hr"
	svcBase = prov + "/persons"
	cA      = "VN/GOV/A/app"
	cB      = "VN/GOV/B/app"
	cC      = "VN/COM/C/crm"
	cD      = "VN/GOV/D/portal"
)

func testACL(t *testing.T) (*ACL, *fakeGroups) {
	t.Helper()
	groups := &fakeGroups{m: map[string][]string{"ministries": {cB}}}
	acl, err := NewACL(AccessConfig{
		LocalGroups: map[string][]string{"partners": {cC}},
		Rules: []Rule{
			{Subject: cA, Service: svcBase}, // whole service, all versions
			{Subject: "global:ministries", Service: svcBase + "/v1", Method: "GET", Path: "/persons/*"}, // one endpoint
			{Subject: "local:partners", Service: svcBase, Method: "POST", Path: "/persons"},
			{Subject: "local:partners", Service: svcBase, Path: "/docs/**"}, // any method
			{Subject: cD, Service: svcBase + "/v2", Method: "GET", Path: "/persons/*/addresses/*"},
			{Subject: cD, Service: svcBase + "/v2", Method: "GET", Path: "/"},
			{Subject: cD, Service: prov + "/other", Method: "PUT", Path: "/x/**"},
		},
	}, groups)
	if err != nil {
		t.Fatal(err)
	}
	return acl, groups
}

func TestACLCheck(t *testing.T) {
	acl, groups := testACL(t)
	tests := []struct {
		client, service, method, path string
		ok                            bool
	}{
		// by subsystem, whole service, every version
		{cA, svcBase, "GET", "/persons/1", true},
		{cA, svcBase + "/v7", "DELETE", "/anything/at/all", true},
		{cA, svcBase, "GET", "/", true},
		{cA, prov + "/other", "PUT", "/x/1", false},
		// by global group, one endpoint on v1 only
		{cB, svcBase + "/v1", "GET", "/persons/42", true},
		{cB, svcBase + "/v1", "GET", "/persons/42/x", false}, // * is one segment
		{cB, svcBase + "/v1", "GET", "/persons/", false},     // * is non-empty
		{cB, svcBase + "/v1", "GET", "/persons", false},
		{cB, svcBase + "/v1", "POST", "/persons/42", false},
		{cB, svcBase + "/v2", "GET", "/persons/42", false},
		{cB, svcBase, "GET", "/persons/42", false},
		// by local group
		{cC, svcBase + "/v3", "POST", "/persons", true},
		{cC, svcBase, "GET", "/persons", false},
		{cC, svcBase, "PATCH", "/docs", true}, // ** matches zero segments
		{cC, svcBase, "GET", "/docs/a/b/c", true},
		{cC, svcBase, "GET", "/docsx", false},
		// middle wildcards, root-only pattern
		{cD, svcBase + "/v2", "GET", "/persons/1/addresses/2", true},
		{cD, svcBase + "/v2", "GET", "/persons/1/addresses", false},
		{cD, svcBase + "/v2", "GET", "/persons/1/phones/2", false},
		{cD, svcBase + "/v2", "GET", "/", true},
		{cD, svcBase + "/v2", "GET", "/x", false},
		{cD, prov + "/other", "PUT", "/x", true},
		{cD, prov + "/other", "put", "/x", false}, // methods are case-sensitive
		// dot segments and relative paths are always denied
		{cA, svcBase, "GET", "/persons/../admin", false},
		{cA, svcBase, "GET", "/./x", false},
		{cA, svcBase, "GET", "persons", false},
		{cA, svcBase, "GET", "", false},
		// deny by default
		{"VN/GOV/Z/app", svcBase, "GET", "/persons/1", false},
		{cA, prov + "/unknown", "GET", "/", false},
	}
	for _, tt := range tests {
		err := acl.Check(mustSub(t, tt.client), mustSvc(t, tt.service), tt.method, tt.path)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s, %s, %s %q) = %v, want ok=%v", tt.client, tt.service, tt.method, tt.path, err, tt.ok)
		}
		if err != nil && (!errors.Is(err, ErrAccessDenied) || Codes.Code(err) != "access_denied" || !strings.Contains(err.Error(), tt.client)) {
			t.Errorf("denial %v: want ErrAccessDenied naming the client", err)
		}
	}

	// Global membership changes are seen through the interface at once.
	v1 := mustSvc(t, svcBase+"/v1")
	groups.set("ministries", cA, cD)
	if err := acl.Check(mustSub(t, cB), v1, "GET", "/persons/1"); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("removed member still allowed: %v", err)
	}
	if err := acl.Check(mustSub(t, cD), v1, "GET", "/persons/1"); err != nil {
		t.Fatalf("added member denied: %v", err)
	}
	groups.set("ministries")
	if err := acl.Check(mustSub(t, cD), v1, "GET", "/persons/1"); err == nil {
		t.Fatal("emptied group still allows")
	}
}

func TestACLAllowedMethodsAndClients(t *testing.T) {
	acl, _ := testACL(t)
	got := acl.AllowedMethods(mustSub(t, cD), mustSvc(t, svcBase+"/v2"))
	want := []Endpoint{{"GET", "/"}, {"GET", "/persons/*/addresses/*"}}
	if !slices.Equal(got, want) {
		t.Fatalf("AllowedMethods(D, v2) = %v, want %v", got, want)
	}
	got = acl.AllowedMethods(mustSub(t, cC), mustSvc(t, svcBase+"/v1"))
	want = []Endpoint{{"*", "/docs/**"}, {"POST", "/persons"}}
	if !slices.Equal(got, want) {
		t.Fatalf("AllowedMethods(C, v1) = %v, want %v", got, want)
	}
	got = acl.AllowedMethods(mustSub(t, cB), mustSvc(t, svcBase+"/v1"))
	if want = []Endpoint{{"GET", "/persons/*"}}; !slices.Equal(got, want) {
		t.Fatalf("AllowedMethods(B, v1) = %v, want %v", got, want)
	}
	got = acl.AllowedMethods(mustSub(t, cA), mustSvc(t, svcBase))
	if want = []Endpoint{AllEndpoints}; !slices.Equal(got, want) {
		t.Fatalf("AllowedMethods(A) = %v, want %v", got, want)
	}
	if got := acl.AllowedMethods(mustSub(t, "VN/GOV/Z/app"), mustSvc(t, svcBase)); len(got) != 0 {
		t.Fatalf("stranger AllowedMethods = %v", got)
	}

	var names []string
	for _, s := range acl.Clients(mustSvc(t, svcBase+"/v1")) {
		names = append(names, s.String())
	}
	wantNames := []string{cA, "global:ministries", "local:partners"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("Clients(v1) = %v, want %v", names, wantNames)
	}
	names = names[:0]
	for _, s := range acl.Clients(mustSvc(t, svcBase)) {
		names = append(names, s.String())
	}
	if wantNames = []string{cA, "local:partners"}; !slices.Equal(names, wantNames) {
		t.Fatalf("Clients(base) = %v, want %v", names, wantNames)
	}
}

func TestNewACLRejects(t *testing.T) {
	g := &fakeGroups{m: map[string][]string{}}
	tests := []struct {
		name   string
		cfg    AccessConfig
		groups Groups
	}{
		{"bad subject", AccessConfig{Rules: []Rule{{Subject: "VN/GOV/A", Service: svcBase}}}, g},
		{"bad group code", AccessConfig{Rules: []Rule{{Subject: "global:a b", Service: svcBase}}}, g},
		{"bad service", AccessConfig{Rules: []Rule{{Subject: cA, Service: prov}}}, g},
		{"undefined local group", AccessConfig{Rules: []Rule{{Subject: "local:x", Service: svcBase}}}, g},
		{"global without resolver", AccessConfig{Rules: []Rule{{Subject: "global:x", Service: svcBase}}}, nil},
		{"bad local member", AccessConfig{LocalGroups: map[string][]string{"x": {"nope"}}}, g},
		{"bad local code", AccessConfig{LocalGroups: map[string][]string{"x/y": nil}}, g},
		{"lower-case method", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Method: "get", Path: "/"}}}, g},
		{"method without path", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Method: "GET"}}}, g},
		{"relative path", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Path: "x"}}}, g},
		{"inner **", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Path: "/a/**/b"}}}, g},
		{"partial *", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Path: "/a*"}}}, g},
		{"empty segment", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Path: "/a//b"}}}, g},
		{"dot segment", AccessConfig{Rules: []Rule{{Subject: cA, Service: svcBase, Path: "/a/../b"}}}, g},
	}
	for _, tt := range tests {
		if _, err := NewACL(tt.cfg, tt.groups); !errors.Is(err, ErrInvalidRule) {
			t.Errorf("%s: err=%v, want ErrInvalidRule", tt.name, err)
		}
	}
}

func TestPathPattern(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/", "/", true},
		{"/", "/a", false},
		{"/**", "/", true},
		{"/**", "/a/b/", true},
		{"/a", "/a", true},
		{"/a", "/a/", false},
		{"/a", "/ab", false},
		{"/a/*", "/a/b", true},
		{"/a/*", "/a/", false},
		{"/a/*", "/a", false},
		{"/a/**", "/a", true},
		{"/a/**", "/a/", true},
		{"/a/**", "/ab", false},
		{"/*/b/**", "/x/b/c/d", true},
		{"/*/b/**", "//b", false},
	}
	for _, tt := range tests {
		pp, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := pp.match(tt.path); got != tt.want || got != refMatch(tt.pattern, tt.path) {
			t.Errorf("%q matches %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// refMatch is the obvious, allocating definition of pattern matching that
// the fuzzer compares against.
func refMatch(pattern, path string) bool {
	var ps, xs []string
	if pattern != "/" {
		ps = strings.Split(pattern[1:], "/")
	}
	if path != "/" {
		xs = strings.Split(path[1:], "/")
	}
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(xs) || (p == "*" && xs[i] == "") || (p != "*" && p != xs[i]) {
			return false
		}
	}
	return len(xs) == len(ps)
}
