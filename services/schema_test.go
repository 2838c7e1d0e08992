package services

import (
	"errors"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
)

const citizenSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["name"],
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "born": {"type": "string", "format": "date"},
    "children": {"type": "array", "items": {"type": "object", "properties": {"age": {"type": "integer", "minimum": 0}}}}
  },
  "additionalProperties": false
}`

func TestSchemaValidate(t *testing.T) {
	s, err := CompileSchema("citizen.json", "", []byte(citizenSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		body, loc, msg string
	}{
		{body: `{"name":"Tran Thi B"}`},
		{body: `{"name":"Tran Thi B","children":[{"age":3}]}`},
		{body: `{"born":"2000-01-01"}`, loc: "", msg: "name"},
		{body: `{"name":""}`, loc: "/name", msg: "minLength"},
		{body: `{"name":"x","children":[{"age":3},{"age":-1}]}`, loc: "/children/1/age", msg: "minimum"},
		{body: `{"name":"x","extra":1}`, loc: "", msg: "extra"},
		{body: `[1]`, loc: "", msg: "object"},
		{body: `{"name":`, msg: "not JSON"},
		{body: ``, msg: "not JSON"},
	} {
		err := s.ValidateRequest([]byte(c.body))
		if c.msg == "" {
			if err != nil {
				t.Errorf("%s: %v", c.body, err)
			}
			continue
		}
		var se *SchemaError
		if !errors.As(err, &se) || !errors.Is(err, ErrSchema) || Codes.Code(err) != "schema_invalid" {
			t.Errorf("%s: %v, want a schema_invalid SchemaError", c.body, err)
			continue
		}
		if se.Location != c.loc || !strings.Contains(se.Message, c.msg) {
			t.Errorf("%s: location %q message %q, want %q and %q", c.body, se.Location, se.Message, c.loc, c.msg)
		}
	}
	if err := s.ValidateResponse([]byte(`{}`)); !errors.Is(err, ErrResponseSchema) || Codes.Code(err) != "response_schema_invalid" {
		t.Errorf("response: %v", err)
	}
}

func TestCompileSchemaRefusals(t *testing.T) {
	for _, c := range []struct {
		typ, doc, want string
	}{
		{"xsd", `<xs:schema/>`, "needs xsd_validator"},
		{"yaml", `{}`, "unknown schema type"},
		{"", `{"type":`, "schema bad.json"},
		{"", `{"type":"nosuchtype"}`, "schema bad.json"},
		{"", `{"$ref":"https://example.org/other.json"}`, "external reference"},
		{"", `{"$ref":"file:///etc/passwd"}`, "external reference"},
		{"", `{"minLength":"three"}`, "schema bad.json"},
	} {
		_, err := CompileSchema("bad.json", c.typ, []byte(c.doc))
		if !errors.Is(err, ErrInvalidDescription) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: %v, want %q", c.typ, c.doc, err, c.want)
		}
	}
	big := `{"description":"` + strings.Repeat("x", MaxSchema) + `"}`
	if _, err := CompileSchema("big.json", "", []byte(big)); !errors.Is(err, ErrInvalidDescription) {
		t.Errorf("oversized schema: %v", err)
	}
	// Internal references resolve.
	s, err := CompileSchema("ref.json", "json", []byte(`{"$defs":{"id":{"type":"string","pattern":"^[0-9]{12}$"}},"properties":{"id":{"$ref":"#/$defs/id"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ValidateRequest([]byte(`{"id":"12"}`)); err == nil || !strings.Contains(err.Error(), `"/id"`) {
		t.Errorf("internal ref: %v", err)
	}
}

func TestGateSchema(t *testing.T) {
	s, err := CompileSchema("citizen.json", "", []byte(citizenSchema))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := ParseServiceID("VN/GOV/H01/hr/persons")
	client, _ := ParseSubsystemID("VN/GOV/H02/app")
	d := &Description{Code: "persons", Versions: []Version{{BackendURL: "http://b", Lifecycle: ident.ServicePublished}}}
	acl, err := NewACL(AccessConfig{Rules: []Rule{{Subject: client.String(), Service: id.String()}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGate(map[string]*Provided{id.String(): {ID: id, Description: d, Schemas: map[string]*Schema{"": s}}}, acl, nil)
	for _, c := range []struct {
		method, body string
		ok           bool
	}{
		{"POST", `{"name":"x"}`, true},
		{"POST", `{"name":1}`, false},
		{"POST", ``, false}, // a POST without body is checked too
		{"GET", ``, true},   // a GET without body is not
		{"GET", `{}`, false},
	} {
		reads := 0
		_, err := g.Admit(t.Context(), &Request{Client: client, Service: id, Method: c.method, Path: "/p",
			Body: func() ([]byte, error) { reads++; return []byte(c.body), nil }})
		if (err == nil) != c.ok || (!c.ok && !errors.Is(err, ErrSchema)) || reads != 1 {
			t.Errorf("%s %q: %v (read %d times)", c.method, c.body, err, reads)
		}
	}
}
