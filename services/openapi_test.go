package services

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
)

const personsYAML = `
openapi: 3.0.3
info: {title: persons, version: "1"}
servers:
  - url: https://backend.example.org/api/v1
paths:
  /persons:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
      responses: {"200": {description: ok}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Person"}
      responses: {"201": {description: created}}
  /persons/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      security: [{apiKey: []}]
      responses: {"200": {description: ok}}
    delete:
      responses: {"204": {description: gone}}
  /files/{name}.json:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
  /health/:
    servers: [{url: "https://other.example.org/"}]
    get:
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: X-Key}
  schemas:
    Person:
      type: object
      required: [name]
      properties:
        name: {type: string, minLength: 1, pattern: "^[A-Za-z ]+$"}
        age: {type: integer, minimum: 0}
      additionalProperties: false
`

const personsJSON = `{"openapi":"3.0.0","info":{"title":"p","version":"1"},
 "paths":{"/persons/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],
 "responses":{"200":{"description":"ok"}}}}}}`

func mustOpenAPI(t testing.TB, doc string) *OpenAPI {
	t.Helper()
	o, err := LoadOpenAPI(context.Background(), []byte(doc))
	if err != nil {
		t.Fatalf("LoadOpenAPI: %v", err)
	}
	return o
}

func TestLoadOpenAPI(t *testing.T) {
	for _, doc := range []string{personsYAML, personsJSON} {
		o := mustOpenAPI(t, doc)
		if !bytes.Equal(o.Raw(), []byte(doc)) {
			t.Fatal("Raw differs from the input")
		}
		sum := sha256.Sum256([]byte(doc))
		if o.SHA256() != hex.EncodeToString(sum[:]) {
			t.Fatal("SHA256 mismatch")
		}
	}
	// The SHA256 is the one Description.Validate fills in.
	v := Version{Lifecycle: ident.ServicePublished, BackendURL: "https://b.example/", OpenAPI: []byte(personsYAML)}
	if err := v.validate(); err != nil || v.OpenAPISHA256 != mustOpenAPI(t, personsYAML).SHA256() {
		t.Fatalf("digest %q, %v", v.OpenAPISHA256, err)
	}
}

func TestLoadOpenAPIRefuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("loader fetched %s", r.URL)
		w.Write([]byte(`type: object`))
	}))
	defer srv.Close()
	external := func(ref string) string {
		return `{"openapi":"3.0.0","info":{"title":"p","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok",
 "content":{"application/json":{"schema":{"$ref":"` + ref + `"}}}}}}}}}`
	}
	big := `{"openapi":"3.0.0","info":{"title":"p","version":"1"},"paths":{},"x-pad":"` + strings.Repeat("a", MaxDescription) + `"}`
	tests := map[string]string{
		"empty":        "",
		"blank":        " \n",
		"garbage":      "{{{",
		"not openapi":  `{"hello":"world"}`,
		"no info":      `{"openapi":"3.0.0","paths":{}}`,
		"bad version":  `{"openapi":"2.0","info":{"title":"p","version":"1"},"paths":{}}`,
		"bad schema":   `{"openapi":"3.0.0","info":{"title":"p","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"type":"nope"}}}}}}}}}`,
		"missing ref":  external("#/components/schemas/Nope"),
		"url ref":      external(srv.URL + "/schema.yaml"),
		"file ref":     external("/etc/passwd"),
		"relative ref": external("other.yaml#/Thing"),
		"too large":    big,
	}
	for name, doc := range tests {
		_, err := LoadOpenAPI(context.Background(), []byte(doc))
		if !errors.Is(err, ErrInvalidDescription) || Codes.Code(err) != "invalid_description" {
			t.Errorf("%s: err = %v, want ErrInvalidDescription", name, err)
		}
	}
}

func TestOpenAPIEndpoints(t *testing.T) {
	o := mustOpenAPI(t, personsYAML)
	want := []Endpoint{
		{"GET", "/files/*"},
		{"GET", "/health/**"},
		{"GET", "/persons"},
		{"POST", "/persons"},
		{"DELETE", "/persons/*"},
		{"GET", "/persons/*"},
	}
	got := o.Endpoints()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Endpoints = %v, want %v", got, want)
	}
	got[0].Path = "/changed"
	if o.Endpoints()[0].Path != "/files/*" {
		t.Fatal("Endpoints exposes internal state")
	}
	// Every endpoint is accepted as an ACL rule and matches the
	// concrete paths it stands for.
	rules := make([]Rule, len(want))
	for i, ep := range want {
		rules[i] = Rule{Subject: "VN/GOV/C01/app", Service: "VN/GOV/H01/hr/persons", Method: ep.Method, Path: ep.Path}
	}
	acl, err := NewACL(AccessConfig{Rules: rules}, nil)
	if err != nil {
		t.Fatalf("NewACL: %v", err)
	}
	client, svc := mustSub(t, "VN/GOV/C01/app"), ServiceID{Provider: mustSub(t, "VN/GOV/H01/hr"), Code: "persons"}
	for _, c := range [][2]string{{"GET", "/persons/42"}, {"DELETE", "/persons/x"}, {"GET", "/files/a.json"}, {"GET", "/health/"}, {"POST", "/persons"}} {
		if err := acl.Check(client, svc, c[0], c[1]); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
}

func TestTemplateToPattern(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"/", "/", true},
		{"/a", "/a", true},
		{"/a/{id}", "/a/*", true},
		{"/a/{id}/b/{x}", "/a/*/b/*", true},
		{"/a/v{n}.{fmt}", "/a/*", true},
		{"/a/b*c", "/a/*", true},
		{"/a/", "/a/**", true},
		{"/a//b", "", false},
		{"/a/../b", "", false},
		{"a", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := templateToPattern(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("templateToPattern(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOpenAPIValidateRequest(t *testing.T) {
	o := mustOpenAPI(t, personsYAML)
	jsonH := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
		want               string // "" for valid, else a substring of the error
	}{
		{"list", "GET", "/persons", nil, "", ""},
		{"list query", "GET", "/persons?limit=10", nil, "", ""},
		{"bad query", "GET", "/persons?limit=1000", nil, "", `parameter "limit" in query`},
		{"bad query type", "GET", "/persons?limit=x", nil, "", `parameter "limit" in query`},
		{"get", "GET", "/persons/42", nil, "", ""},
		{"no security check", "GET", "/persons/42", http.Header{}, "", ""},
		{"bad path param", "GET", "/persons/abc", nil, "", `parameter "id" in path`},
		{"escaped path", "GET", "/files/a%20b.json", nil, "", ""},
		{"trailing slash", "GET", "/health/", nil, "", ""},
		{"create", "POST", "/persons", jsonH, `{"name":"An","age":3}`, ""},
		{"missing body", "POST", "/persons", jsonH, "", "request body"},
		{"bad body", "POST", "/persons", jsonH, `{"age":-1,"name":"x"}`, "request body"},
		{"bad pattern", "POST", "/persons", jsonH, `{"name":"x1"}`, "request body"},
		{"extra property", "POST", "/persons", jsonH, `{"name":"x","evil":1}`, "request body"},
		{"not json", "POST", "/persons", jsonH, `{`, "request body"},
		{"trailing garbage", "POST", "/persons", jsonH, `{"name":"An"} garbage`, "request body"},
		{"two values", "POST", "/persons", jsonH, `{"name":"An"}{}`, "request body"},
		{"stray brace", "POST", "/persons", jsonH, `{"name":"An"}}`, "request body"},
		{"trailing white space", "POST", "/persons", jsonH, "{\"name\":\"An\"} \n", ""},
		{"wrong content type", "POST", "/persons", http.Header{"Content-Type": {"text/plain"}}, `x`, "request body"},
		{"unknown path", "GET", "/nope", nil, "", "no such operation"},
		{"server base not used", "GET", "/api/v1/persons", nil, "", "no such operation"},
		{"unknown method", "PUT", "/persons", nil, "", "no such operation"},
		{"bad method", "G T", "/persons", nil, "", "bad request method"},
		{"absolute URL", "GET", "http://x/persons", nil, "", "bad request path"},
		{"relative", "GET", "persons", nil, "", "bad request path"},
	}
	for _, tt := range tests {
		body := []byte(tt.body)
		orig := bytes.Clone(body)
		err := o.ValidateRequest(context.Background(), tt.method, tt.path, tt.header, body)
		if !bytes.Equal(body, orig) {
			t.Errorf("%s: body modified", tt.name)
		}
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrValidation) || Codes.Code(err) != "request_invalid" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrValidation with %q", tt.name, err, tt.want)
			continue
		}
		if msg := strings.TrimPrefix(err.Error(), ErrValidation.Error()+": "); len(msg) > maxValidationMessage+3 || strings.ContainsAny(msg, "\r\n") {
			t.Errorf("%s: message not short: %q", tt.name, msg)
		}
	}
}

func TestOpenAPIConcurrent(t *testing.T) {
	o := mustOpenAPI(t, personsYAML)
	h := http.Header{"Content-Type": {"application/json"}}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				var err error
				if (i+j)%2 == 0 {
					err = o.ValidateRequest(context.Background(), "POST", "/persons", h, []byte(`{"name":"x"}`))
				} else {
					err = o.ValidateRequest(context.Background(), "GET", "/persons/abc", nil, nil)
					if errors.Is(err, ErrValidation) {
						err = nil
					} else {
						err = errors.New("want validation error")
					}
				}
				if err != nil {
					bad.Add(1)
				}
				_ = o.Endpoints()
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d unexpected results", bad.Load())
	}
}
