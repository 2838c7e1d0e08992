package services

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var testLGSPRoutes = []LGSPRoute{
	{Version: "v1", Domain: "hr", Resource: "persons", Service: "VN/GOV/H01/hr/persons/v1"},
	{Version: "v2", Domain: "hr", Resource: "persons", Service: "VN/GOV/H01/hr/persons/v2"},
	{Version: "v1", Domain: "tax", Resource: "returns", Service: "VN/GOV/T01/tax/returns"},
	{Version: "1.0", Domain: "land-reg", Resource: "parcel_info", Service: "VN/GOV/L01/land/parcels"},
}

func TestLGSPRouteJSON(t *testing.T) {
	var r LGSPRoute
	if err := json.Unmarshal([]byte(`{"version":"v1","domain":"hr","resource":"persons","service":"VN/GOV/H01/hr/persons"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r != (LGSPRoute{"v1", "hr", "persons", "VN/GOV/H01/hr/persons"}) {
		t.Fatalf("%+v", r)
	}
}

func TestNewLGSPMap(t *testing.T) {
	m, err := NewLGSPMap(testLGSPRoutes)
	if err != nil || m.Len() != len(testLGSPRoutes) {
		t.Fatalf("NewLGSPMap: %v", err)
	}
	if m, err := NewLGSPMap(nil); err != nil || m.Len() != 0 {
		t.Fatalf("empty map: %v", err)
	}
	ok := LGSPRoute{Version: "v1", Domain: "hr", Resource: "persons", Service: "VN/GOV/H01/hr/persons"}
	bad := func(f func(r *LGSPRoute)) []LGSPRoute { r := ok; f(&r); return []LGSPRoute{r} }
	tests := map[string][]LGSPRoute{
		"empty version":   bad(func(r *LGSPRoute) { r.Version = "" }),
		"slash domain":    bad(func(r *LGSPRoute) { r.Domain = "a/b" }),
		"space resource":  bad(func(r *LGSPRoute) { r.Resource = "per sons" }),
		"dot":             bad(func(r *LGSPRoute) { r.Resource = "." }),
		"dotdot":          bad(func(r *LGSPRoute) { r.Domain = ".." }),
		"too long":        bad(func(r *LGSPRoute) { r.Resource = strings.Repeat("a", 65) }),
		"unicode":         bad(func(r *LGSPRoute) { r.Domain = "hồ" }),
		"query":           bad(func(r *LGSPRoute) { r.Resource = "p?x" }),
		"bad service":     bad(func(r *LGSPRoute) { r.Service = "VN/GOV/H01/hr" }),
		"empty service":   bad(func(r *LGSPRoute) { r.Service = "" }),
		"service spaces":  bad(func(r *LGSPRoute) { r.Service = "VN/GOV/H01/hr/per sons" }),
		"duplicate route": {ok, {Version: "v1", Domain: "hr", Resource: "persons", Service: "VN/GOV/H02/hr/other"}},
	}
	for name, routes := range tests {
		_, err := NewLGSPMap(routes)
		if !errors.Is(err, ErrLGSP) || Codes.Code(err) != "invalid_lgsp_route" || errors.Is(err, ErrInvalidID) {
			t.Errorf("%s: err = %v, want ErrLGSP only", name, err)
		}
	}
	if _, err := NewLGSPMap([]LGSPRoute{ok, {Version: "V1", Domain: "hr", Resource: "persons", Service: ok.Service}}); err != nil {
		t.Errorf("case differs, not a duplicate: %v", err)
	}
	if _, err := NewLGSPMap([]LGSPRoute{ok, {Version: "v2", Domain: "hr", Resource: "persons", Service: ok.Service}}); err != nil {
		t.Errorf("two routes to one service: %v", err)
	}
}

func TestLGSPLookup(t *testing.T) {
	m, err := NewLGSPMap(testLGSPRoutes)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, service, rest string
		ok                  bool
	}{
		{"/v1/hr/persons", "VN/GOV/H01/hr/persons/v1", "/", true},
		{"/v1/hr/persons/", "VN/GOV/H01/hr/persons/v1", "/", true},
		{"/v1/hr/persons/42", "VN/GOV/H01/hr/persons/v1", "/42", true},
		{"/v2/hr/persons/42/addresses/", "VN/GOV/H01/hr/persons/v2", "/42/addresses/", true},
		{"/v1/hr/persons?page=2&x=%2F", "VN/GOV/H01/hr/persons/v1", "/?page=2&x=%2F", true},
		{"/v1/hr/persons/42?x=1?y", "VN/GOV/H01/hr/persons/v1", "/42?x=1?y", true},
		{"/v1/hr/persons?", "VN/GOV/H01/hr/persons/v1", "/?", true},
		{"/v1/hr/persons//x", "VN/GOV/H01/hr/persons/v1", "//x", true},
		{"/v1/tax/returns/2024", "VN/GOV/T01/tax/returns", "/2024", true},
		{"/1.0/land-reg/parcel_info/a/b", "VN/GOV/L01/land/parcels", "/a/b", true},
		{"/v3/hr/persons", "", "", false},
		{"/V1/hr/persons", "", "", false},
		{"/v1/hr/personsX", "", "", false},
		{"/v1/hr/persons.json", "", "", false},
		{"/v1/hr", "", "", false},
		{"/v1/hr/", "", "", false},
		{"/v1", "", "", false},
		{"/", "", "", false},
		{"", "", "", false},
		{"v1/hr/persons", "", "", false},
		{"//v1/hr/persons", "", "", false},
		{"/v1//hr/persons", "", "", false},
		{"/v1/hr/%70ersons", "", "", false},
		{"/v1/hr?/persons", "", "", false},
	}
	for _, tt := range tests {
		svc, rest, ok := m.Lookup(tt.path)
		if ok != tt.ok || rest != tt.rest || ok && svc.String() != tt.service || !ok && svc != (ServiceID{}) {
			t.Errorf("Lookup(%q) = %v, %q, %v; want %q, %q, %v", tt.path, svc, rest, ok, tt.service, tt.rest, tt.ok)
		}
	}
}

// FuzzLGSPLookup checks that Lookup never panics and that a match splits
// the path exactly: prefix + rest gives the path back.
// Seeds: f.Add below and testdata/fuzz/FuzzLGSPLookup.
func FuzzLGSPLookup(f *testing.F) {
	m, err := NewLGSPMap(testLGSPRoutes)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"/v1/hr/persons", "/v1/hr/persons/42?x=1", "/v1/hr", "", "/v1/hr/persons?", "/1.0/land-reg/parcel_info//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		svc, rest, ok := m.Lookup(path)
		if !ok {
			if svc != (ServiceID{}) || rest != "" {
				t.Fatalf("no match but %v %q", svc, rest)
			}
			return
		}
		if !strings.HasPrefix(rest, "/") {
			t.Fatalf("rest %q", rest)
		}
		var route *LGSPRoute
		for i, r := range testLGSPRoutes {
			if strings.HasPrefix(path, "/"+r.Version+"/"+r.Domain+"/"+r.Resource) {
				route = &testLGSPRoutes[i]
			}
		}
		if route == nil || route.Service != svc.String() {
			t.Fatalf("%q matched %v", path, svc)
		}
		prefix := "/" + route.Version + "/" + route.Domain + "/" + route.Resource
		if prefix+rest != path && !(strings.HasPrefix(rest, "/") && prefix+rest[1:] == path && (rest == "/" || rest[1] == '?')) {
			t.Fatalf("%q split into %q + %q", path, prefix, rest)
		}
	})
}
