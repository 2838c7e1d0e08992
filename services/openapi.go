package services

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/dxl-network/dxl/internal/jsonin"
)

// MaxDescription caps the size of an OpenAPI description accepted by
// LoadOpenAPI.
const MaxDescription = 4 << 20

// maxValidationMessage caps the filter message carried by a validation
// error, which may end up in a response to the client.
const maxValidationMessage = 200

// OpenAPI is a loaded and validated OpenAPI 3 description of a REST
// service. It is immutable and safe for concurrent use.
type OpenAPI struct {
	raw       []byte
	sum       string
	doc       *openapi3.T
	router    routers.Router
	endpoints []Endpoint
}

// LoadOpenAPI parses data (JSON or YAML), resolves its internal references
// and validates it. It refuses a document larger than MaxDescription, any
// reference to another document (nothing is ever read from a file or URL)
// and a document that does not pass the kin-openapi validation. Errors wrap
// ErrInvalidDescription: the OpenAPI document is part of the service
// description.
//
// Requests are validated against service-relative paths: the servers of
// the description (top level and per path) are ignored.
func LoadOpenAPI(ctx context.Context, data []byte) (*OpenAPI, error) {
	if len(data) > MaxDescription {
		return nil, fmt.Errorf("%w: openapi: %d bytes exceeds %d", ErrInvalidDescription, len(data), MaxDescription)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: openapi: empty document", ErrInvalidDescription)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = false
	// A custom reader bypasses IsExternalRefsAllowed; this one refuses
	// everything, so no external reference can be read whatever the flag.
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, u *url.URL) ([]byte, error) {
		return nil, fmt.Errorf("external reference %q refused", u.Redacted())
	}
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("%w: openapi: %v", ErrInvalidDescription, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		return nil, fmt.Errorf("%w: openapi: version %q is not OpenAPI 3", ErrInvalidDescription, doc.OpenAPI)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("%w: openapi: %v", ErrInvalidDescription, err)
	}
	if doc.Paths == nil {
		doc.Paths = openapi3.NewPaths()
	}
	endpoints := endpointsOf(doc)
	// The node hands ValidateRequest the path below the service, so route
	// on a single relative server "/" and drop per-path servers. doc is
	// our own copy: nothing else sees the change.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: openapi: router: %v", ErrInvalidDescription, err)
	}
	sum := sha256.Sum256(data)
	return &OpenAPI{
		raw:       bytes.Clone(data),
		sum:       hex.EncodeToString(sum[:]),
		doc:       doc,
		router:    router,
		endpoints: endpoints,
	}, nil
}

// Raw returns the original bytes of the description. The caller must not
// modify them.
func (o *OpenAPI) Raw() []byte { return o.raw }

// SHA256 returns the lower-case hex SHA-256 of Raw, the value of
// Version.OpenAPISHA256.
func (o *OpenAPI) SHA256() string { return o.sum }

// Endpoints lists every operation of the description as an Endpoint,
// sorted by path then method, without duplicates; the caller may modify
// the returned slice.
//
// OpenAPI path templates are converted to ACL patterns segment by segment:
// a segment holding a parameter ("{id}", but also "{id}.json") becomes "*"
// (one non-empty segment), so /persons/{id} gives /persons/*. The pattern
// may therefore be broader than the template, never narrower. A literal
// segment containing "*" also becomes "*", and a trailing slash
// (/persons/) becomes a trailing "**". A path that still is no valid ACL
// pattern (empty or dot segments inside it) is left out.
func (o *OpenAPI) Endpoints() []Endpoint { return slices.Clone(o.endpoints) }

func endpointsOf(doc *openapi3.T) []Endpoint {
	var out []Endpoint
	for path, item := range doc.Paths.Map() {
		pattern, ok := templateToPattern(path)
		if !ok {
			continue
		}
		for method := range item.Operations() {
			method = strings.ToUpper(method)
			if !validMethod(method) || method == "*" {
				continue
			}
			out = append(out, Endpoint{Method: method, Path: pattern})
		}
	}
	slices.SortFunc(out, func(x, y Endpoint) int {
		return cmp.Or(strings.Compare(x.Path, y.Path), strings.Compare(x.Method, y.Method))
	})
	return slices.Compact(out)
}

// templateToPattern converts an OpenAPI path template to an Endpoint path
// pattern (see Endpoints).
func templateToPattern(tmpl string) (string, bool) {
	if tmpl == "" || tmpl[0] != '/' {
		return "", false
	}
	if tmpl == "/" {
		return "/", true
	}
	segs := strings.Split(tmpl[1:], "/")
	for i, s := range segs {
		switch {
		case s == "" && i == len(segs)-1:
			segs[i] = "**"
		case strings.ContainsAny(s, "{}*"):
			segs[i] = "*"
		}
	}
	p := "/" + strings.Join(segs, "/")
	if _, err := compilePattern(p); err != nil {
		return "", false
	}
	return p, true
}

// ValidateRequest checks one request against the description: path is the
// request target below the service (it starts with "/", may be
// percent-encoded and may carry a query string: "/persons/42?x=1"), header
// its headers and body its complete, already buffered body (nil or empty
// for none). Path and query parameters, headers and the body are
// validated; security requirements are not (the exchange layer
// authenticates the client itself). body is only read.
//
// An error wraps ErrValidation; its message is short and names what failed
// ("no such operation" for a method and path the description does not
// have), fit to return to the client.
func (o *OpenAPI) ValidateRequest(ctx context.Context, method, path string, header http.Header, body []byte) error {
	u, err := url.ParseRequestURI(path)
	if err != nil || !strings.HasPrefix(path, "/") || u.Host != "" || u.Scheme != "" {
		return fmt.Errorf("%w: bad request path", ErrValidation)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", nil)
	if err != nil {
		return fmt.Errorf("%w: bad request method", ErrValidation)
	}
	req.URL = u
	req.RequestURI = path
	req.Host = ""
	if header != nil {
		req.Header = header.Clone()
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }

	route, params, err := o.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%w: no such operation", ErrValidation)
	}
	if err := oneJSONValue(route, header, body); err != nil {
		return err
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			// Defaults would be written into req only; skip the work.
			SkipSettingDefaults: true,
		},
	}
	if err := openapi3filter.ValidateRequest(ctx, input); err != nil {
		return fmt.Errorf("%w: %s", ErrValidation, validationMessage(err))
	}
	return nil
}

// oneJSONValue refuses a JSON request body with data after its value
// ({"a":1} garbage, {}{}): kin-openapi decodes the first value only and
// would pass the rest to the backend unchecked. Other decoding errors are
// left to the filter, which names them.
func oneJSONValue(route *routers.Route, header http.Header, body []byte) error {
	if route.Operation == nil || route.Operation.RequestBody == nil || len(body) == 0 || !isJSON(header.Get("Content-Type")) {
		return nil
	}
	if err := jsonin.DecodeOpen(bytes.NewReader(body), new(json.RawMessage)); errors.Is(err, jsonin.ErrTrailing) {
		return fmt.Errorf("%w: request body: %v", ErrValidation, err)
	}
	return nil
}

// isJSON reports whether contentType is application/json or a +json type
// (RFC 6839), the types kin-openapi decodes as JSON.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// validationMessage returns a short, single-line description of a filter
// error.
func validationMessage(err error) string {
	var msg string
	var re *openapi3filter.RequestError
	var se *openapi3.SchemaError
	switch {
	case errors.As(err, &re) && re.Parameter != nil:
		msg = fmt.Sprintf("parameter %q in %s: %s", re.Parameter.Name, re.Parameter.In, firstLine(reason(re)))
	case errors.As(err, &re) && re.RequestBody != nil:
		if errors.As(err, &se) {
			msg = "request body: " + firstLine(se.Reason)
			if p := se.JSONPointer(); len(p) > 0 {
				msg += " at /" + strings.Join(p, "/")
			}
		} else {
			msg = "request body: " + firstLine(reason(re))
		}
	default:
		msg = firstLine(err.Error())
	}
	if len(msg) > maxValidationMessage {
		msg = strings.ToValidUTF8(msg[:maxValidationMessage], "") + "..."
	}
	return msg
}

func reason(re *openapi3filter.RequestError) string {
	if re.Reason != "" {
		return re.Reason
	}
	if re.Err != nil {
		return re.Err.Error()
	}
	return "invalid"
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
