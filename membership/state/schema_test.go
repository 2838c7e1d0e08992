package state_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

const hashC = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

// TestPublishSchemas: a publish with schema digests stores them with the
// default type written out; an update that names none keeps them, one that
// names some replaces them as a whole; a bad digest, an unknown type or a
// type without a digest is refused with invalid_schema, on the proposer
// and again at Apply, leaving the entry as it was; the global
// configuration carries the digests and validates.
func TestPublishSchemas(t *testing.T) {
	h := regtest.NewHarness(t)
	a := h.Admit("SCH")
	sys := a.Member + "/SYS"
	id := sys + "/person/v1"
	op := state.Header{Actor: "op"}
	pub := func(s state.Schemas, raw bool) error {
		return h.Do(&state.PublishService{Header: op, Subsystem: sys, Code: "person", Version: "v1", DescriptionSHA256: hashA, Schemas: s}, raw)
	}
	if err := pub(state.Schemas{RequestSchemaSHA256: hashB, ResponseSchemaSHA256: hashC}, false); err != nil {
		t.Fatal(err)
	}
	want := state.Schemas{SchemaType: "json", RequestSchemaSHA256: hashB, ResponseSchemaSHA256: hashC}
	if got := h.St.Services[id].Schemas; got != want {
		t.Fatalf("published schemas %+v, want %+v", got, want)
	}
	if !strings.Contains(h.St.History[len(h.St.History)-1].Detail, "json schema request bbbbbbbbbbbb response cccccccccccc") {
		t.Fatalf("history detail %q names no schemas", h.St.History[len(h.St.History)-1].Detail)
	}
	if err := pub(state.Schemas{}, false); err != nil {
		t.Fatal(err)
	}
	if got := h.St.Services[id].Schemas; got != want {
		t.Fatalf("an update without schemas changed them to %+v", got)
	}
	for name, s := range map[string]state.Schemas{
		"short digest":          {RequestSchemaSHA256: "abcd"},
		"upper-case digest":     {ResponseSchemaSHA256: strings.ToUpper(hashB)},
		"unknown type":          {SchemaType: "relaxng", RequestSchemaSHA256: hashB},
		"type without a digest": {SchemaType: "xsd"},
	} {
		for _, raw := range []bool{false, true} { // Prepare, then Apply alone
			if err := pub(s, raw); !errors.Is(err, state.ErrInvalidSchema) || state.Codes.Code(err) != "invalid_schema" {
				t.Fatalf("%s (raw %v): %v, want invalid_schema", name, raw, err)
			}
			if got := h.St.Services[id].Schemas; got != want {
				t.Fatalf("%s: a refused update changed the schemas to %+v", name, got)
			}
		}
	}
	if err := pub(state.Schemas{SchemaType: "xsd", RequestSchemaSHA256: hashC}, false); err != nil {
		t.Fatal(err)
	}
	want = state.Schemas{SchemaType: "xsd", RequestSchemaSHA256: hashC}
	if got := h.St.Services[id].Schemas; got != want {
		t.Fatalf("replaced schemas %+v, want %+v", got, want)
	}
	doc := h.St.GlobalConfig(h.Now, nil)
	var found *globalconf.Service
	for i := range doc.Services {
		if doc.Services[i].ID() == id {
			found = &doc.Services[i]
		}
	}
	if found == nil || found.SchemaType != "xsd" || found.RequestSchemaSHA256 != hashC || found.ResponseSchemaSHA256 != "" {
		t.Fatalf("global configuration entry %+v", found)
	}
	checkIndex(h)
}
