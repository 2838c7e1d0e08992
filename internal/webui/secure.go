package webui

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"unicode/utf8"
)

// ContentSecurityPolicy is every console page's policy: nothing may load
// but the console's own style sheet and images, no script at all (inline
// or not), forms post only to the console, and no other site may frame it.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// Secure wraps a console handler: the security headers on every answer,
// and net/http's CrossOriginProtection in front of every state-changing
// request (a POST from another origin, going by Sec-Fetch-Site or Origin
// against Host, is refused with 403 before it reaches h).
func Secure(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "403 – Yêu cầu từ trang khác bị từ chối. / A cross-origin request was refused.", http.StatusForbidden)
	}))
	inner := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		hd.Set("Strict-Transport-Security", "max-age=31536000")
		hd.Set("Cache-Control", "no-store")
		inner.ServeHTTP(w, r)
	})
}

// Form limits.
const (
	MaxFormBytes = 16 << 10
	MaxFieldLen  = 2000
)

// DecodeForm decodes an application/x-www-form-urlencoded body strictly:
// only the allowed field names, each at most once, values valid UTF-8 of
// at most MaxFieldLen bytes without control characters other than line
// breaks and tabs. A field left out is "".
func DecodeForm(body []byte, allowed ...string) (map[string]string, error) {
	if len(body) > MaxFormBytes {
		return nil, fmt.Errorf("%w: form over %d bytes", ErrInvalid, MaxFormBytes)
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: malformed form: %v", ErrInvalid, err)
	}
	out := make(map[string]string, len(allowed))
	for k, vs := range vals {
		if !slices.Contains(allowed, k) {
			return nil, fmt.Errorf("%w: unexpected field %q", ErrInvalid, trunc(k))
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: field %q given %d times", ErrInvalid, k, len(vs))
		}
		v := vs[0]
		if len(v) > MaxFieldLen || !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: field %q is too long or not UTF-8", ErrInvalid, k)
		}
		for _, r := range v {
			if r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
				return nil, fmt.Errorf("%w: field %q holds a control character", ErrInvalid, k)
			}
		}
		out[k] = v
	}
	return out, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ReadForm reads r's body as a form (DecodeForm) of at most MaxFormBytes
// and the given fields, and sets r.PostForm from it.
func ReadForm(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]string, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: want a form (application/x-www-form-urlencoded)", ErrInvalid)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxFormBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: form over %d bytes or unreadable", ErrInvalid, MaxFormBytes)
	}
	f, err := DecodeForm(body, allowed...)
	if err != nil {
		return nil, err
	}
	r.PostForm = url.Values{}
	for k, v := range f {
		r.PostForm.Set(k, v)
	}
	return f, nil
}
