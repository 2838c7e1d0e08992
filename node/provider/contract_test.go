package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// viewSlot is a Views whose view the test replaces.
type viewSlot struct{ v *confview.View }

func (s *viewSlot) Latest() *confview.View { return s.v }
func (s *viewSlot) Current() (*confview.View, error) {
	if s.v == nil {
		return nil, exchange.ErrNoConfig
	}
	return s.v, nil
}

// catalogueView is a configuration of the given version whose catalogue
// lists entries.
func catalogueView(t *testing.T, version uint64, entries ...globalconf.Service) *confview.View {
	t.Helper()
	der := testutil.RootDER(t)
	v, err := confview.New(&globalconf.Document{Version: version, CAChain: [][]byte{der}, Services: entries})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestContract: a version whose catalogue entry publishes the node's
// schema digests is served and getSchema answers its files byte for
// byte; one whose entry publishes other digests (or a node without
// schemas for it) is refused with schema_mismatch, logged once per
// configuration version; an entry without digests leaves the node's
// schemas in force.
func TestContract(t *testing.T) {
	dir := t.TempDir()
	reqDoc, respDoc := []byte(`{"type":"object","required":["name"]}`), []byte(`{"type":"object"}`)
	for name, doc := range map[string][]byte{"req.json": reqDoc, "resp.json": respDoc} {
		if err := os.WriteFile(filepath.Join(dir, name), doc, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	views := &viewSlot{}
	pub := func(v string) services.Version {
		return services.Version{Version: v, Lifecycle: ident.ServicePublished, BackendURL: "http://127.0.0.1:1"}
	}
	pr, err := New(Config{Dir: dir, Now: time.Now, Views: views, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		Services: []ServiceConfig{{Subsystem: "VN/GOV/B/SVC", Description: services.Description{Code: "pets",
			Versions: []services.Version{pub("v1"), pub("v2"), pub("v3")}},
			Schemas: map[string]SchemaConfig{"v1": {Request: "req.json", Response: "resp.json"}, "v2": {Request: "req.json"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	entry := func(ver, typ, req, resp string) globalconf.Service {
		return globalconf.Service{Provider: "VN/GOV/B/SVC", Code: "pets", Version: ver, Lifecycle: ident.ServicePublished,
			SchemaType: typ, RequestSchemaSHA256: req, ResponseSchemaSHA256: resp}
	}
	reqSum, respSum := sha256Hex(reqDoc), sha256Hex(respDoc)
	views.v = catalogueView(t, 7,
		entry("v1", "json", reqSum, respSum), // matches
		entry("v2", "json", reqSum, respSum), // the node has no response schema
		entry("v3", "", "", ""))              // no digests
	p := pr.provided["VN/GOV/B/SVC/pets"]
	sid, _ := services.ParseServiceID("VN/GOV/B/SVC/pets")
	check := pr.contract(views.v, sid)
	if err := check("v1"); err != nil {
		t.Fatalf("matching schemas: %v", err)
	}
	if err := check("v3"); err != nil {
		t.Fatalf("an entry without digests: %v", err)
	}
	for i := 0; i < 3; i++ {
		if err := check("v2"); !errors.Is(err, exchange.ErrSchemaMismatch) || exchange.Codes.Code(err) != "schema_mismatch" {
			t.Fatalf("mismatch: %v", err)
		}
	}
	pr.CheckSchemas(views.v)
	if n := strings.Count(logs.String(), "schemas differ from the catalogue"); n != 1 || !strings.Contains(logs.String(), "service=VN/GOV/B/SVC/pets/v2") {
		t.Fatalf("%d warnings under one configuration version, want 1:\n%s", n, logs.String())
	}
	views.v = catalogueView(t, 8, entry("v1", "xsd", reqSum, respSum), entry("v2", "json", reqSum, respSum))
	pr.CheckSchemas(views.v)
	if n := strings.Count(logs.String(), "schemas differ from the catalogue"); n != 3 || !strings.Contains(logs.String(), "config_version=8") {
		t.Fatalf("%d warnings after a new configuration (v1's type differs too), want 3:\n%s", n, logs.String())
	}
	if err := pr.contract(views.v, sid)("v1"); !errors.Is(err, exchange.ErrSchemaMismatch) {
		t.Fatalf("another schema type: %v", err)
	}

	// getSchema: the files under the published contract only.
	views.v = catalogueView(t, 9, entry("v1", "json", reqSum, respSum), entry("v2", "json", reqSum, respSum))
	for _, c := range []struct {
		query string
		want  []byte
		err   error
	}{
		{"serviceCode=pets&version=v1&direction=request", reqDoc, nil},
		{"serviceCode=pets&version=v1&direction=response", respDoc, nil},
		{"serviceCode=pets&version=v1", nil, exchange.ErrBadRequest},
		{"serviceCode=pets&version=v2&direction=request", nil, exchange.ErrSchemaMismatch},
		{"serviceCode=pets&version=v3&direction=request", nil, exchange.ErrUnknownService},
		{"serviceCode=cats&direction=request", nil, exchange.ErrUnknownService},
		{"direction=request", nil, exchange.ErrBadRequest},
	} {
		st, ctype, body, err := pr.getSchema(p.id.Provider, "/?"+c.query)
		if !errors.Is(err, c.err) {
			t.Fatalf("%s: %v, want %v", c.query, err, c.err)
		}
		if c.err == nil && (st != 200 || ctype != "application/schema+json" || !bytes.Equal(body, c.want)) {
			t.Fatalf("%s: %d %s %q", c.query, st, ctype, body)
		}
	}
}
