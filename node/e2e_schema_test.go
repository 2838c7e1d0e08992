package node_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/provider"
)

// TestEndToEndSchemas: B checks request bodies against the JSON Schema
// of the service's data type before its backend sees them, and its
// backend's answers before they are signed (validate_responses).
func TestEndToEndSchemas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	var hits atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost { // not the level-2 health checks
			hits.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/bad" {
			w.Write([]byte(`{"id":7}`))
			return
		}
		w.Write([]byte(`{"id":"7","name":"Tran Thi B"}`))
	}))
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	req, resp := filepath.Join(dir, "citizen-request.json"), filepath.Join(dir, "citizen-response.json")
	for file, doc := range map[string]string{
		req:  `{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":1},"children":{"type":"array","items":{"type":"integer"}}}}`,
		resp: `{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`,
	} {
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n := startNet(t, func(c *node.Config) {
		s := &c.Services[0]
		for i := range s.Versions {
			s.Versions[i].BackendURL = backend.URL
		}
		s.Schemas = map[string]provider.SchemaConfig{"": {Request: req, Response: resp, ValidateResponses: true}}
	})
	c := n.client(t, true)

	if a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Tran Thi B","children":[1]}`)); a.status != 200 || hits.Load() != 1 {
		t.Fatalf("valid request: %d %s, backend hits %d", a.status, a.body, hits.Load())
	}
	a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Tran Thi B","children":[1,"two"]}`))
	exchangeError(t, a, 400, "schema_invalid")
	if !bytes.Contains(a.body, []byte(`/children/1`)) {
		t.Errorf("the error does not name the failing location: %s", a.body)
	}
	exchangeError(t, do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`not json`)), 400, "schema_invalid")
	if hits.Load() != 1 {
		t.Fatalf("requests failing their schema reached the backend: %d hits", hits.Load())
	}
	// A GET without a body is not checked; its answer is.
	if a := do(t, c, "GET", n.url("/citizens/7"), "", nil); a.status != 200 {
		t.Fatalf("valid answer: %d %s", a.status, a.body)
	}
	// The provider's fault: its details stay in B's log, the body is not
	// passed on.
	a = do(t, c, "GET", n.url("/bad"), "", nil)
	if a.status != http.StatusBadGateway || a.header.Get(node.HeaderError) != "response_schema_invalid" || bytes.Contains(a.body, []byte(`"id":7`)) {
		t.Fatalf("answer failing its schema: %d %v %s", a.status, a.header, a.body)
	}
}
