package services

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
)

// FuzzParseServiceID checks that the parser never panics, accepts only
// well-formed IDs, and that accepted IDs round-trip through String.
// Seeds: f.Add below and testdata/fuzz/FuzzParseServiceID.
func FuzzParseServiceID(f *testing.F) {
	for _, s := range []string{
		"VN/GOV/H01/hr/persons", "VN/GOV/H01/hr/persons/v1", "VN-TEST/GOV/000.00.00.H01/hr_1/p-2/1.0",
		"VN/GOV/H01/hr", "VN/GOV/H01/hr/persons/v1/x", "//////", "VN/GOV/H01/hr/persons/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseServiceID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("error %v does not wrap ErrInvalidID", err)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("round trip %q -> %q", s, id.String())
		}
		parts := strings.Split(s, "/")
		if len(parts) != 5 && len(parts) != 6 {
			t.Fatalf("accepted %d parts", len(parts))
		}
		for _, p := range parts {
			if ident.CheckPart(p) != nil {
				t.Fatalf("accepted bad part %q", p)
			}
		}
		again, err := ParseServiceID(id.String())
		if err != nil || again != id {
			t.Fatalf("reparse %v %v", again, err)
		}
		if !id.Provider.is(id.Provider.String()) || id.Provider.is(s) {
			t.Fatalf("SubsystemID.is disagrees with String for %q", s)
		}
		sub, err := ParseSubsystemID(id.Provider.String())
		if err != nil || sub != id.Provider {
			t.Fatalf("provider reparse %v %v", sub, err)
		}
	})
}

// FuzzPathPattern compares the allocation-free matcher with the obvious
// definition (refMatch) on every pattern the compiler accepts, and checks
// that a wildcard-free pattern matches its own text.
// Seeds: f.Add below and testdata/fuzz/FuzzPathPattern.
func FuzzPathPattern(f *testing.F) {
	for _, s := range [][2]string{
		{"/", "/"}, {"/**", "/a/b"}, {"/a/*", "/a/b"}, {"/a/*", "/a/"}, {"/a/**", "/a"},
		{"/*/b/**", "/x/b/c/d"}, {"/a/*/c", "/a//c"}, {"/a", "/a/"}, {"/a/**/b", "/a/x/b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		pp, err := compilePattern(pattern)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("error %v does not wrap ErrInvalidRule", err)
			}
			return
		}
		if !strings.HasPrefix(path, "/") {
			return // Check refuses such paths before matching
		}
		if got, want := pp.match(path), refMatch(pattern, path); got != want {
			t.Fatalf("%q vs %q: match=%v ref=%v", pattern, path, got, want)
		}
		if !strings.Contains(pattern, "*") && !pp.match(pattern) {
			t.Fatalf("literal pattern %q does not match itself", pattern)
		}
		if want := !strings.Contains(path+"/", "/./") && !strings.Contains(path+"/", "/../"); validPath(path) != want {
			t.Fatalf("validPath(%q) disagrees", path)
		}
	})
}

// FuzzCompileSchema checks that compiling any document never panics,
// that a refusal wraps ErrInvalidDescription, and that a compiled schema
// answers any body with nil or a schema error naming a JSON pointer.
// Seeds: f.Add below and testdata/fuzz/FuzzCompileSchema.
func FuzzCompileSchema(f *testing.F) {
	f.Add(citizenSchema, `{"name":"x"}`)
	f.Add(`{"$ref":"#/$defs/a","$defs":{"a":{"type":"integer"}}}`, `"x"`)
	f.Add(`{"$ref":"http://example.org/x"}`, `1`)
	f.Add(`true`, `null`)
	f.Fuzz(func(t *testing.T, doc, body string) {
		s, err := CompileSchema("fuzz.json", "", []byte(doc))
		if err != nil {
			if !errors.Is(err, ErrInvalidDescription) {
				t.Fatalf("error %v does not wrap ErrInvalidDescription", err)
			}
			return
		}
		err = s.ValidateRequest([]byte(body))
		var se *SchemaError
		if err != nil && (!errors.As(err, &se) || !errors.Is(err, ErrSchema) ||
			(se.Location != "" && !strings.HasPrefix(se.Location, "/")) || len(se.Message) > maxSchemaMessage) {
			t.Fatalf("validation error %#v", err)
		}
	})
}

// FuzzIPRules checks that compiling any entry never panics, that a
// refusal wraps ErrInvalidRule and names the entry, and that an accepted
// entry matches its own address. Seeds: testdata/fuzz/FuzzIPRules.
func FuzzIPRules(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "10.0.0.1/8", "::ffff:1.2.3.4", "fe80::1%lo", "", "1.2.3.4/-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		fl, err := (&IPRules{IPList: IPList{Allow: []string{e}}}).Compile()
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), "allow[0]") {
				t.Fatalf("error %v", err)
			}
			return
		}
		p, err := parsePrefix(e)
		if err != nil {
			t.Fatalf("compiled but does not parse: %v", err)
		}
		if fl.CheckAPI(p.Addr()) != nil {
			t.Fatalf("%q does not allow its own address %s", e, p.Addr())
		}
	})
}

// FuzzMask checks that compiling any field path never panics (a refusal
// wraps ErrInvalidRule) and that masking any body answers JSON or an
// ErrMask error. Seeds: f.Add below and testdata/fuzz/FuzzMask.
func FuzzMask(f *testing.F) {
	f.Add("/a/*/b", "mask", 2, `{"a":[{"b":"secret"}]}`)
	f.Add("a.b", "drop", 0, `{"a":{"b":1,"c":2}}`)
	f.Add("/x~1y", "hash", 0, `[1]`)
	f.Fuzz(func(t *testing.T, path, action string, keep int, body string) {
		m, err := CompileMasks([]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: path, Action: action, Keep: keep}}}}, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("error %v", err)
			}
			return
		}
		id, _ := ParseServiceID("VN/GOV/B/hr/p")
		c, _ := ParseSubsystemID("VN/GOV/A/x")
		out, err := m.For(c, id, nil).Apply([]byte(body))
		if err != nil {
			if !errors.Is(err, ErrMask) {
				t.Fatalf("apply error %v", err)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("masked %q into invalid JSON %q", body, out)
		}
	})
}
