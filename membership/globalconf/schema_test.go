package globalconf

import (
	"testing"
	"time"
)

// TestServiceSchemasValidate: a catalogue entry with a schema type and a
// request digest, a response digest or both validates, and its digests
// survive the canonical encoding.
func TestServiceSchemasValidate(t *testing.T) {
	p, _ := pkis(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	d := sampleDoc(t, p, 3, t0, 4, 4)
	d.Services[0].SchemaType, d.Services[0].RequestSchemaSHA256, d.Services[0].ResponseSchemaSHA256 = SchemaJSON, hexOf("q"), hexOf("r")
	d.Services[1].SchemaType, d.Services[1].ResponseSchemaSHA256 = SchemaXSD, hexOf("x")
	d.Services[2].SchemaType, d.Services[2].RequestSchemaSHA256 = SchemaJSON, hexOf("j")
	b, err := d.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("entries with schemas: %v", err)
	}
	back, err := ParseDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Services {
		g, w := back.Services[i], d.Services[i]
		if g.SchemaType != w.SchemaType || g.RequestSchemaSHA256 != w.RequestSchemaSHA256 || g.ResponseSchemaSHA256 != w.ResponseSchemaSHA256 {
			t.Fatalf("service %d after the canonical encoding: %+v, want %+v", i, g, w)
		}
	}
}
