package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

// TestRegistryPublishSchemas: `dxl registry service publish` with schema
// files puts their SHA-256 into the signed configuration's catalogue
// entry; an update without files keeps them; a file that is not a schema
// of its type, or --schema-type alone, is refused before anything is
// sent; an XSD needs only to be a well-formed xs:schema.
func TestRegistryPublishSchemas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a registry")
	}
	rc := newRegistryCLI(t)
	r, ctx, admin, run, with := rc.r, rc.ctx, rc.admin, rc.run, rc.with
	work := t.TempDir()
	member := testInstance + "/GOV/000.00.00.H26"
	st := rc.submit(work, member)
	run(with(admin, "request", "approve", st.RequestID)...)
	var md client.MemberDetail
	mustJSON(t, run(with(admin, "member", "show", "--json", member)...), &md)
	sub := md.Subsystems[0].ID
	svc := sub + "/person/v1"

	files := map[string]string{
		"request.json":  `{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}`,
		"response.json": `{"type":"object","properties":{"name":{"type":"string"}}}`,
		"bad.json":      `{"type":12}`,
		"person.xsd":    `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="person" type="xs:string"/></xs:schema>`,
	}
	sums := map[string]string{}
	for name, data := range files {
		writeFile(t, filepath.Join(work, name), []byte(data))
		sum := sha256.Sum256([]byte(data))
		sums[name] = hex.EncodeToString(sum[:])
	}
	publish := func(args ...string) (string, error) {
		return reg(ctx, with(admin, append([]string{"service", "publish", "--subsystem", sub, "--code", "person", "--version", "v1"}, args...)...)...)
	}
	entry := func(want func(globalconf.Service) bool) globalconf.Service {
		t.Helper()
		var got globalconf.Service
		waitFor(t, "the catalogue entry in the signed config", func() bool {
			cfg := filepath.Join(work, "global-config.json")
			run("config", "fetch", "--anchor", r.anchorPath, "--out", cfg, "--force")
			doc, _, err := parseSigned(must(os.ReadFile(cfg)))
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(doc.Services, func(s globalconf.Service) bool { return s.ID() == svc })
			if i < 0 {
				return false
			}
			got = doc.Services[i]
			return want(got)
		})
		return got
	}

	out, err := publish("--request-schema", filepath.Join(work, "request.json"), "--response-schema", filepath.Join(work, "response.json"))
	if err != nil || !strings.Contains(out, "published "+svc) {
		t.Fatalf("publish with schemas: %v\n%s", err, out)
	}
	e := entry(func(s globalconf.Service) bool { return s.RequestSchemaSHA256 != "" })
	if e.SchemaType != "json" || e.RequestSchemaSHA256 != sums["request.json"] || e.ResponseSchemaSHA256 != sums["response.json"] {
		t.Fatalf("catalogue entry %+v, want the files' digests", e)
	}
	// An update without schema files (a new description) keeps them.
	if _, err := publish("--description-sha256", strings.Repeat("0f", 32)); err != nil {
		t.Fatal(err)
	}
	e = entry(func(s globalconf.Service) bool { return s.DescriptionSHA256 == strings.Repeat("0f", 32) })
	if e.RequestSchemaSHA256 != sums["request.json"] || e.ResponseSchemaSHA256 != sums["response.json"] {
		t.Fatalf("an update without schemas changed them: %+v", e)
	}
	var before []state.HistoryEntry
	mustJSON(t, run(with(admin, "history", "--json", "--target", svc)...), &before)
	for _, c := range []struct {
		name, want string
		args       []string
	}{
		{"a JSON Schema that does not compile", "--request-schema", []string{"--request-schema", filepath.Join(work, "bad.json")}},
		{"a JSON Schema as XSD", "not well-formed XML", []string{"--schema-type", "xsd", "--response-schema", filepath.Join(work, "response.json")}},
		{"an unknown type", "want json or xsd", []string{"--schema-type", "dtd", "--request-schema", filepath.Join(work, "person.xsd")}},
		{"a type without a file", "without --request-schema", []string{"--schema-type", "xsd"}},
		{"a missing file", "nope.json", []string{"--request-schema", filepath.Join(work, "nope.json")}},
	} {
		if out, err := publish(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%s: %v, want an error naming %q\n%s", c.name, err, c.want, out)
		}
	}
	var after []state.HistoryEntry
	mustJSON(t, run(with(admin, "history", "--json", "--target", svc)...), &after)
	if len(after) != len(before) {
		t.Fatalf("a refused publish reached the registry: %d history entries, then %d", len(before), len(after))
	}
	// An XSD: well-formed is all this machine checks; it replaces both.
	if _, err := publish("--schema-type", "xsd", "--request-schema", filepath.Join(work, "person.xsd")); err != nil {
		t.Fatal(err)
	}
	e = entry(func(s globalconf.Service) bool { return s.SchemaType == "xsd" })
	if e.RequestSchemaSHA256 != sums["person.xsd"] || e.ResponseSchemaSHA256 != "" {
		t.Fatalf("xsd entry %+v", e)
	}
}
