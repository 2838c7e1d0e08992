package node_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/provider"
)

// TestEndToEndSchemaCatalogue: the schemas of B's data type published
// in the catalogue. Before the catalogue names any, B's own schemas
// apply; once it publishes the digests of B's files, calls are checked
// against them and getSchema answers the files, whose SHA-256 is the
// catalogue's; when it publishes other digests, B refuses the version
// with schema_mismatch (getSchema too) and its backend sees nothing,
// until the catalogue and the files agree again.
func TestEndToEndSchemaCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	var posts atomic.Int64
	backend := govBackend(t, &posts)
	dir := t.TempDir()
	reqDoc := []byte(`{"type":"object","required":["name"],"properties":{"name":{"type":"string","minLength":1}}}`)
	respDoc := []byte(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`)
	reqFile, respFile := filepath.Join(dir, "citizen-request.json"), filepath.Join(dir, "citizen-response.json")
	for file, doc := range map[string][]byte{reqFile: reqDoc, respFile: respDoc} {
		if err := os.WriteFile(file, doc, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n := startNetTB(t, nil, func(c *node.Config) {
		s := &c.Services[0]
		for i := range s.Versions {
			s.Versions[i].BackendURL = backend
		}
		s.Schemas = map[string]provider.SchemaConfig{"": {Request: reqFile, Response: respFile}}
	})
	c := n.client(t, true)
	valid, invalid := []byte(`{"name":"Tran Thi B"}`), []byte(`{"name":""}`)
	call := func(body []byte) answer { return do(t, c, "POST", n.url("/citizens"), "application/json", body) }
	base := "https://" + n.A.Node.APIAddr() + "/r1/" + n.SubsystemID(devnet.AgencyB) + "/getSchema?serviceCode=" + devnet.SampleServiceCode

	// No digests in the catalogue: B's own schema applies, as before.
	if a := call(valid); a.status != 200 || posts.Load() != 1 {
		t.Fatalf("valid request, no digests published: %d %s", a.status, a.body)
	}
	exchangeError(t, call(invalid), 400, "schema_invalid")

	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	publish := func(req, resp string) {
		t.Helper()
		var desc string
		n.Registry.Server().Read(func(st *state.State) { desc = st.Services[n.Service].DescriptionSHA256 })
		sub := n.SubsystemID(devnet.AgencyB)
		if _, err := n.Admin.PublishService(n.ctx, client.PublishServiceRequest{Subsystem: sub,
			Code: strings.TrimPrefix(n.Service, sub+"/"), DescriptionSHA256: desc,
			SchemaType: "json", RequestSchemaSHA256: req, ResponseSchemaSHA256: resp}); err != nil {
			t.Fatal(err)
		}
		if err := n.WaitConfig(n.ctx, n.A, n.B); err != nil {
			t.Fatal(err)
		}
	}

	// The catalogue publishes B's files: calls are checked and pass.
	publish(sum(reqDoc), sum(respDoc))
	if a := call(valid); a.status != 200 || posts.Load() != 2 {
		t.Fatalf("valid request under the published schemas: %d %s, backend POSTs %d", a.status, a.body, posts.Load())
	}
	exchangeError(t, call(invalid), 400, "schema_invalid")
	for dir, want := range map[string][]byte{"request": reqDoc, "response": respDoc} {
		a := do(t, c, "GET", base+"&direction="+dir, "", nil)
		if a.status != 200 || a.header.Get("Content-Type") != "application/schema+json" || sum(a.body) != sum(want) {
			t.Fatalf("getSchema %s: %d %q %s", dir, a.status, a.header.Get("Content-Type"), a.body)
		}
	}
	exchangeError(t, do(t, c, "GET", base, "", nil), 400, "bad_request")

	// The catalogue publishes another request schema: refused, the
	// backend sees nothing, and the schema is not served either.
	publish(sum([]byte(`{"type":"object"}`)), sum(respDoc))
	exchangeError(t, call(valid), 503, "schema_mismatch")
	exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil), 503, "schema_mismatch")
	exchangeError(t, do(t, c, "GET", base+"&direction=request", "", nil), 503, "schema_mismatch")
	if posts.Load() != 2 {
		t.Fatalf("a call under a mismatched contract reached the backend: %d POSTs", posts.Load())
	}

	// The registry refuses a digest that is not one, through its API.
	var ae *client.APIError
	_, err := n.Admin.PublishService(n.ctx, client.PublishServiceRequest{Subsystem: n.SubsystemID(devnet.AgencyB),
		Code: devnet.SampleServiceCode, DescriptionSHA256: sum(nil), RequestSchemaSHA256: "abc"})
	if !errors.As(err, &ae) || ae.Code != "invalid_schema" || ae.Status != 400 || !errors.Is(err, state.ErrInvalidSchema) {
		t.Fatalf("a bad schema digest: %v", err)
	}

	// The catalogue and the files agree again.
	publish(sum(reqDoc), sum(respDoc))
	if a := call(valid); a.status != 200 || posts.Load() != 3 {
		t.Fatalf("valid request once the digests agree again: %d %s", a.status, a.body)
	}
}
