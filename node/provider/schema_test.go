package provider

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// schemaProvider builds a provider of one service (versions "" and v2)
// with schemas in dir.
func schemaProvider(dir string, schemas map[string]SchemaConfig) (*Provider, error) {
	pub := func(v string) services.Version {
		return services.Version{Version: v, Lifecycle: ident.ServicePublished, BackendURL: "http://127.0.0.1:1"}
	}
	return New(Config{Dir: dir, Now: time.Now, Services: []ServiceConfig{{Subsystem: "VN/GOV/B/SVC",
		Description: services.Description{Code: "pets", Versions: []services.Version{pub(""), pub("v2")}}, Schemas: schemas}}})
}

func TestLoadSchemas(t *testing.T) {
	dir := t.TempDir()
	for name, doc := range map[string]string{
		"req.json":  `{"type":"object","required":["name"]}`,
		"resp.json": `{"type":"object","properties":{"id":{"type":"string"}}}`,
		"bad.json":  `{"type":"object","properties":{"id":{"type":7}}}`,
		"pets.xsd":  `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pr, err := schemaProvider(dir, map[string]SchemaConfig{
		"":   {Request: "req.json", Response: "resp.json"},
		"v2": {Response: filepath.Join(dir, "resp.json"), ValidateResponses: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := pr.provided["VN/GOV/B/SVC/pets"]
	if p.requests[""] == nil || p.requests["v2"] != nil || p.responses[""] != nil || p.responses["v2"] == nil {
		t.Fatalf("compiled: requests %v responses %v", p.requests, p.responses)
	}
	if pr.Gate().Lookup(p.id).Schemas[""] == nil {
		t.Fatal("the gate does not check request schemas")
	}
	if err := checkResponse(p, "v2", spool.Bytes([]byte(`{"id":7}`))); !errors.Is(err, services.ErrResponseSchema) || !strings.Contains(err.Error(), `"/id"`) {
		t.Errorf("bad response: %v", err)
	}
	if err := checkResponse(p, "v2", spool.Bytes([]byte(`{"id":"7"}`))); err != nil {
		t.Errorf("good response: %v", err)
	}
	if err := checkResponse(p, "", spool.Bytes([]byte(`{"id":7}`))); err != nil {
		t.Errorf("a version without validate_responses: %v", err)
	}
	for _, c := range []struct {
		schemas map[string]SchemaConfig
		want    string
	}{
		{map[string]SchemaConfig{"v9": {Request: "req.json"}}, "schemas"},
		{map[string]SchemaConfig{"": {Request: "nosuch.json"}}, "nosuch.json"},
		{map[string]SchemaConfig{"": {Request: "bad.json"}}, "bad.json"},
		{map[string]SchemaConfig{"": {Type: "xsd", Request: "pets.xsd"}}, "needs xsd_validator"},
		{map[string]SchemaConfig{"": {Type: "relaxng", Request: "req.json"}}, "unknown schema type"},
		{map[string]SchemaConfig{"v2": {Request: "req.json", ValidateResponses: true}}, "validate_responses without a response schema"},
	} {
		_, err := schemaProvider(dir, c.schemas)
		if !errors.Is(err, exchange.ErrConfig) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "VN/GOV/B/SVC/pets") {
			t.Errorf("%v: %v, want %q", c.schemas, err, c.want)
		}
	}
}
