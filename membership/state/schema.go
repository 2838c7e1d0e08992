package state

import (
	"fmt"
	"strings"

	"github.com/dxl-network/dxl/membership/globalconf"
)

// Schemas per data type (R-F2). A catalogue entry may carry the SHA-256
// digests of the schemas its data type is published with — the request
// body's, the response body's, or both — and the schema language
// (globalconf.SchemaJSON, the default, or globalconf.SchemaXSD). The
// registry keeps digests only: the schema files stay with the provider,
// whose node serves them (getSchema) and refuses calls while its own files
// hash to something else.
//
// A publish that names no digest keeps the entry's schemas as they are
// (the way an update without a level keeps the classification); one that
// names a digest replaces the entry's schemas as a whole, so a response
// schema left out is dropped.

// Schemas is the schema reference of a catalogue entry.
type Schemas struct {
	SchemaType           string `json:"schema_type,omitempty"`
	RequestSchemaSHA256  string `json:"request_schema_sha256,omitempty"`
	ResponseSchemaSHA256 string `json:"response_schema_sha256,omitempty"`
}

// IsZero reports whether s names no schema.
func (s Schemas) IsZero() bool { return s.RequestSchemaSHA256 == "" && s.ResponseSchemaSHA256 == "" }

// check refuses with ErrInvalidSchema an unknown type, a digest that is
// not 64 lower-case hex digits, or a type without a digest.
func (s Schemas) check() error {
	switch s.SchemaType {
	case "", globalconf.SchemaJSON, globalconf.SchemaXSD:
	default:
		return schemaf("schema type %q: want json or xsd", s.SchemaType)
	}
	for _, d := range []struct{ name, sum string }{{"request", s.RequestSchemaSHA256}, {"response", s.ResponseSchemaSHA256}} {
		if d.sum != "" && (len(d.sum) != 64 || strings.Trim(d.sum, "0123456789abcdef") != "") {
			return schemaf("%s schema hash %q: want 64 lower-case hex digits (SHA-256)", d.name, d.sum)
		}
	}
	if s.SchemaType != "" && s.IsZero() {
		return schemaf("schema type %s without a request or response schema hash", s.SchemaType)
	}
	return nil
}

// normal is s with the default type written out when it names a digest.
func (s Schemas) normal() Schemas {
	if !s.IsZero() && s.SchemaType == "" {
		s.SchemaType = globalconf.SchemaJSON
	}
	return s
}

// detail is the history's account of s: "" when it names no schema.
func (s Schemas) detail() string {
	if s.IsZero() {
		return ""
	}
	short := func(h string) string {
		if h == "" {
			return "-"
		}
		return h[:12]
	}
	return ", " + s.SchemaType + " schema request " + short(s.RequestSchemaSHA256) + " response " + short(s.ResponseSchemaSHA256)
}

// schemaf returns an ErrInvalidSchema error.
func schemaf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSchema, fmt.Sprintf(format, a...))
}
