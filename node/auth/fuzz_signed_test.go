package auth_test

import (
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node/auth"
)

// FuzzParseAuthorization: the signed-request Authorization parser never
// panics, and what it accepts prints back to a header it parses the same.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("DXL-HMAC-SHA256 Credential=dxlak_abc, SignedHeaders=host;x-dxl-date, Signature=00ff")
	f.Add("DXL-RSA-PSS-SHA256 Credential=dxlsk_x,SignedHeaders=content-type;host;x-dxl-date,Signature=ab")
	f.Add("DXL-HMAC-SHA1 Credential=a, Credential=b")
	f.Add("Bearer eyJ")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := auth.ParseAuthorization(h)
		if err != nil {
			return
		}
		if a.Credential == "" || len(a.Signature) == 0 || len(a.SignedHeaders) < 2 {
			t.Fatalf("accepted %q as %+v", h, a)
		}
		b, err := auth.ParseAuthorization(a.String())
		if err != nil || b.String() != a.String() || !strings.HasPrefix(h, a.Algorithm+" ") {
			t.Fatalf("%q: reprint %q: %v", h, a.String(), err)
		}
	})
}

// FuzzCanonicalQuery: the canonical query of a canonical query is itself,
// and holds no byte a URL query would need escaped.
func FuzzCanonicalQuery(f *testing.F) {
	f.Add("b=2&a=1")
	f.Add("a=x+y&a=%41&c&&=")
	f.Add("q=%C3%A9&z=~-._*/")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := auth.CanonicalQuery(raw)
		if err != nil {
			return
		}
		again, err := auth.CanonicalQuery(c)
		if err != nil || again != c {
			t.Fatalf("%q → %q → %q, %v", raw, c, again, err)
		}
		if strings.ContainsAny(c, " +#?\x00\n") {
			t.Fatalf("%q → %q", raw, c)
		}
	})
}
