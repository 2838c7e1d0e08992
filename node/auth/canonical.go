package auth

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Signed-request algorithms: the scheme of the Authorization header.
const (
	AlgHMACSHA256   = "DXL-HMAC-SHA256"
	AlgHMACSHA1     = "DXL-HMAC-SHA1" // only for keys created with AllowSHA1
	AlgRSASHA256    = "DXL-RSA-SHA256"
	AlgRSAPSSSHA256 = "DXL-RSA-PSS-SHA256"
)

// Headers of a signed request.
const (
	HeaderDate          = "X-DXL-Date"
	HeaderContentSHA256 = "X-DXL-Content-SHA256"
	// DateFormat is X-DXL-Date's form: ISO 8601 basic, UTC
	// (date -u +%Y%m%dT%H%M%SZ).
	DateFormat = "20060102T150405Z"
	// MaxAuthorization is the longest Authorization header parsed.
	MaxAuthorization = 4 << 10
	maxSignedHeaders = 32
)

// requiredSigned are the headers every signature must cover.
var requiredSigned = []string{"host", "x-dxl-date"}

// Authorization is a parsed signed-request Authorization header:
//
//	ALGORITHM Credential=KEY, SignedHeaders=h1;h2;…, Signature=HEX
type Authorization struct {
	Algorithm     string
	Credential    string   // access key or session key
	SignedHeaders []string // lower case, sorted, no repeats
	Signature     []byte
}

// IsSigned reports whether h is a signed-request Authorization header
// (a DXL- scheme), as opposed to a bearer token.
func IsSigned(h string) bool {
	scheme, _, _ := strings.Cut(h, " ")
	return strings.HasPrefix(scheme, "DXL-")
}

// ParseAuthorization parses a signed-request Authorization header. Every
// part is required once; the signed headers must be sorted lower-case
// tokens including host and x-dxl-date; the signature is lower-case hex.
func ParseAuthorization(h string) (Authorization, error) {
	var a Authorization
	if len(h) > MaxAuthorization {
		return a, fmt.Errorf("%w: Authorization over %d bytes", ErrSignedMalformed, MaxAuthorization)
	}
	scheme, rest, ok := strings.Cut(h, " ")
	switch scheme {
	case AlgHMACSHA256, AlgHMACSHA1, AlgRSASHA256, AlgRSAPSSSHA256:
		a.Algorithm = scheme
	default:
		return a, fmt.Errorf("%w: unknown algorithm %.40q", ErrSignedMalformed, scheme)
	}
	if !ok {
		return a, fmt.Errorf("%w: no parameters after the algorithm", ErrSignedMalformed)
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || seen[k] {
			return a, fmt.Errorf("%w: parameter %.40q malformed or repeated", ErrSignedMalformed, k)
		}
		seen[k] = true
		var err error
		switch k {
		case "Credential":
			a.Credential, err = v, checkCredential(v)
		case "SignedHeaders":
			a.SignedHeaders, err = parseSignedHeaders(v)
		case "Signature":
			a.Signature, err = parseHex(v)
		default:
			err = fmt.Errorf("%w: unknown parameter %.40q", ErrSignedMalformed, k)
		}
		if err != nil {
			return a, err
		}
	}
	if !seen["Credential"] || !seen["SignedHeaders"] || !seen["Signature"] {
		return a, fmt.Errorf("%w: Credential, SignedHeaders and Signature are required", ErrSignedMalformed)
	}
	return a, nil
}

func checkCredential(v string) error {
	if len(v) < 1 || len(v) > 128 {
		return fmt.Errorf("%w: Credential length", ErrSignedMalformed)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("%w: Credential has a byte outside a-z 0-9 _", ErrSignedMalformed)
		}
	}
	return nil
}

func parseSignedHeaders(v string) ([]string, error) {
	hs := strings.Split(v, ";")
	if len(hs) > maxSignedHeaders {
		return nil, fmt.Errorf("%w: over %d signed headers", ErrSignedMalformed, maxSignedHeaders)
	}
	for i, h := range hs {
		if h == "" || strings.ToLower(h) != h || !isToken(h) {
			return nil, fmt.Errorf("%w: signed header %.40q is not a lower-case token", ErrSignedMalformed, h)
		}
		if i > 0 && hs[i-1] >= h {
			return nil, fmt.Errorf("%w: SignedHeaders must be sorted, without repeats", ErrSignedMalformed)
		}
	}
	for _, req := range requiredSigned {
		if !slices.Contains(hs, req) {
			return nil, fmt.Errorf("%w: SignedHeaders must include %s", ErrSignedMalformed, req)
		}
	}
	return hs, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func parseHex(v string) ([]byte, error) {
	if v == "" || len(v) > 2048 || strings.ToLower(v) != v {
		return nil, fmt.Errorf("%w: Signature must be lower-case hex", ErrSignedMalformed)
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%w: Signature must be lower-case hex", ErrSignedMalformed)
	}
	return b, nil
}

// ParseDate parses an X-DXL-Date value.
func ParseDate(v string) (time.Time, error) {
	t, err := time.Parse(DateFormat, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s %.40q is not %s", ErrSignedMalformed, HeaderDate, v, DateFormat)
	}
	return t, nil
}

// CanonicalQuery is the query's canonical form: every name=value pair
// decoded (a + is a space) and re-encoded with only A-Z a-z 0-9 - . _ ~
// left as they are (upper-case %XX otherwise), sorted by name then value,
// joined with &. A pair without = is name=.
func CanonicalQuery(raw string) (string, error) {
	type kv struct{ k, v string }
	var pairs []kv
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("%w: query has a bad percent-encoding", ErrSignedMalformed)
		}
		pairs = append(pairs, kv{uriEncode(dk), uriEncode(dv)})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String(), nil
}

// uriEncode percent-encodes every byte but RFC 3986's unreserved ones.
func uriEncode(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// requestTarget is the path and raw query of r exactly as on its request
// line (RequestURI), whatever a handler did to r.URL since.
func requestTarget(r *http.Request) (path, query string) {
	target := r.RequestURI
	if target == "" || !strings.HasPrefix(target, "/") {
		return r.URL.EscapedPath(), r.URL.RawQuery
	}
	path, query, _ = strings.Cut(target, "?")
	return path, query
}

// headerValue is the canonical value of one signed header: r.Host for
// host, else every value of the field trimmed and joined with ",".
func headerValue(r *http.Request, name string) (string, bool) {
	if name == "host" {
		return r.Host, r.Host != ""
	}
	vs := r.Header.Values(name)
	if len(vs) == 0 {
		return "", false
	}
	for i := range vs {
		vs[i] = strings.TrimSpace(vs[i])
	}
	return strings.Join(vs, ","), true
}

// StringToSign is the canonical request of r under a, the bytes the
// signature covers, one item per line (LF), no trailing newline:
//
//	ALGORITHM
//	CREDENTIAL
//	METHOD
//	PATH                      as on the request line, percent-encoding as sent
//	CANONICAL_QUERY           CanonicalQuery of the raw query ("" if none)
//	name:value                one line per signed header, in SignedHeaders order
//	…
//	SIGNED_HEADERS            as in the Authorization header, h1;h2;…
//	BODY_SHA256               the X-DXL-Content-SHA256 value, lower-case hex
func StringToSign(r *http.Request, a Authorization, bodySHA256 string) (string, error) {
	path, rawQuery := requestTarget(r)
	query, err := CanonicalQuery(rawQuery)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, s := range []string{a.Algorithm, a.Credential, r.Method, path, query} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	for _, h := range a.SignedHeaders {
		v, ok := headerValue(r, h)
		if !ok {
			return "", fmt.Errorf("%w: signed header %s missing", ErrSignedMalformed, h)
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", fmt.Errorf("%w: signed header %s has a line break", ErrSignedMalformed, h)
		}
		b.WriteString(h + ":" + v + "\n")
	}
	b.WriteString(strings.Join(a.SignedHeaders, ";") + "\n" + bodySHA256)
	return b.String(), nil
}

// checkBodyHash checks an X-DXL-Content-SHA256 value: 64 lower-case hex.
func checkBodyHash(v string) ([32]byte, error) {
	var sum [32]byte
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != 32 || strings.ToLower(v) != v {
		return sum, fmt.Errorf("%w: %s must be the body's SHA-256 in lower-case hex", ErrSignedMalformed, HeaderContentSHA256)
	}
	copy(sum[:], b)
	return sum, nil
}
