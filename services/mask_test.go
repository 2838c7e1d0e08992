package services

import (
	"errors"
	"strings"
	"testing"
)

func TestMaskApply(t *testing.T) {
	m, err := CompileMasks([]MaskRule{
		{Service: "VN/GOV/B/hr/persons", Consumer: "VN/GOV/A/app", Fields: []MaskField{
			{Path: "/id", Action: MaskKeep, Keep: 4}, {Path: "address.street", Action: MaskDrop},
			{Path: "/phones/*", Action: MaskHash}, {Path: "/children/*/name", Action: MaskKeep},
			{Path: "/a~1b", Action: MaskDrop}, {Path: "/nosuch/x", Action: MaskDrop}}},
		{Service: "VN/GOV/B/hr/persons", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "/id", Action: MaskDrop}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := ParseServiceID("VN/GOV/B/hr/persons/v2")
	app, _ := ParseSubsystemID("VN/GOV/A/app")
	other, _ := ParseSubsystemID("VN/GOV/A/other")
	stranger, _ := ParseSubsystemID("VN/GOV/C/app")
	if m.For(stranger, svc, nil) != nil || (*Masker)(nil).For(app, svc, nil) != nil {
		t.Fatal("a consumer without a rule is masked")
	}
	for _, c := range []struct {
		client     SubsystemID
		body, want string
	}{
		{app, `{"id":"001234567890","name":"Lê Văn C","address":{"street":"1 Trang Tien","city":"Ha Noi"},"phones":["0912",84912],"children":[{"name":"Bình"},{"age":3}],"a/b":1}`,
			`{"address":{"city":"Ha Noi"},"children":[{"name":"****"},{"age":3}],"id":"********7890","name":"Lê Văn C","phones":["` + sha("0912") + `","` + sha("84912") + `"]}`},
		{app, `{"id":12345}`, `{"id":"*2345"}`},
		{app, `{"id":"12"}`, `{"id":"**"}`}, // never fewer masked characters than keep leaves
		{app, `{"id":null}`, `{"id":null}`},
		{app, `[1,2]`, `[1,2]`},
		{other, `{"id":"x","name":"y"}`, `{"name":"y"}`}, // the member's rule
	} {
		got, err := m.For(c.client, svc, nil).Apply([]byte(c.body))
		if err != nil || string(got) != c.want {
			t.Errorf("%s %s:\n got %s %v\nwant %s", c.client, c.body, got, err, c.want)
		}
	}
	for _, bad := range []string{`{"id":`, `{"id":1} {}`, `<xml/>`, ``} {
		if _, err := m.For(app, svc, nil).Apply([]byte(bad)); !errors.Is(err, ErrMask) || Codes.Code(err) != "mask_failed" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func sha(s string) string {
	m, _ := CompileMasks([]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "x", Action: MaskHash}}}}, nil)
	id, _ := ParseServiceID("VN/GOV/B/hr/p")
	c, _ := ParseSubsystemID("VN/GOV/A/x")
	out, _ := m.For(c, id, nil).Apply([]byte(`{"x":"` + s + `"}`))
	return strings.TrimSuffix(strings.TrimPrefix(string(out), `{"x":"`), `"}`)
}

func TestCompileMasksRefusals(t *testing.T) {
	f := []MaskField{{Path: "/id", Action: MaskDrop}}
	for _, c := range []struct {
		r    []MaskRule
		want string
	}{
		{[]MaskRule{{Service: "VN/GOV/B/hr", Consumer: "VN/GOV/A", Fields: f}}, `masking[0]: service "VN/GOV/B/hr"`},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p/v1", Consumer: "VN/GOV/A", Fields: f}}, "unversioned"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV", Fields: f}}, `consumer "VN/GOV"`},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "local:nosuch", Fields: f}}, "no local group nosuch"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "global:bad code", Fields: f}}, `consumer "global:bad code"`},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "local:partners", Fields: f}, {Service: "VN/GOV/B/hr/p", Consumer: "local:partners", Fields: f}}, "masking[1]: a second rule"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A"}}, "fields"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: f}, {Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: f}}, "masking[1]: a second rule"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "/id", Action: "blur"}}}}, `masking[0].fields[0] "/id": action "blur"`},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "/", Action: MaskDrop}}}}, "whole body"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "a..b", Action: MaskDrop}}}}, "empty segment"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "a", Action: MaskKeep, Keep: 65}}}}, "keep 65"},
		{[]MaskRule{{Service: "VN/GOV/B/hr/p", Consumer: "VN/GOV/A", Fields: []MaskField{{Path: "a", Action: MaskHash, Keep: 2}}}}, "keep is for action mask"},
	} {
		_, err := CompileMasks(c.r, map[string][]string{"partners": nil})
		if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.r, err, c.want)
		}
	}
}

type testGroups map[string][]string

func (g testGroups) Members(code string) []string { return g[code] }

// TestMaskGroups: a group's rule applies to its subsystems, after the
// subsystem's and the member's own rules, groups in node.json's order.
func TestMaskGroups(t *testing.T) {
	drop := func(path string) []MaskField { return []MaskField{{Path: path, Action: MaskDrop}} }
	svc := "VN/GOV/B/hr/p"
	m, err := CompileMasks([]MaskRule{
		{Service: svc, Consumer: "local:partners", Fields: drop("/a")},
		{Service: svc, Consumer: "global:ministries", Fields: drop("/b")},
		{Service: svc, Consumer: "VN/GOV/M", Fields: drop("/c")},
	}, map[string][]string{"partners": {"VN/GOV/P/app"}})
	if err != nil {
		t.Fatal(err)
	}
	global := testGroups{"ministries": {"VN/GOV/P/app", "VN/GOV/Q/app", "VN/GOV/M/app"}}
	id, _ := ParseServiceID(svc + "/v1")
	for client, want := range map[string]string{
		"VN/GOV/P/app": `{"b":2,"c":3}`, // local:partners comes first
		"VN/GOV/Q/app": `{"a":1,"c":3}`, // global:ministries
		"VN/GOV/M/app": `{"a":1,"b":2}`, // its member's rule before any group's
		"VN/GOV/Z/app": "",              // none
	} {
		c, _ := ParseSubsystemID(client)
		set := m.For(c, id, global)
		if want == "" {
			if set != nil {
				t.Errorf("%s is masked", client)
			}
			continue
		}
		out, err := set.Apply([]byte(`{"a":1,"b":2,"c":3}`))
		if err != nil || string(out) != want {
			t.Errorf("%s: %s %v, want %s", client, out, err, want)
		}
	}
	q, _ := ParseSubsystemID("VN/GOV/Q/app")
	if m.For(q, id, nil) != nil {
		t.Fatal("a global group's rule applied without the configuration's groups")
	}
}
