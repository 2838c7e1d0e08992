package envelope

import (
	"bytes"
	"errors"
	"testing"
)

// TestCompact: an envelope without its certificate and back is the
// envelope; a certificate other than the one its hash names is refused.
func TestCompact(t *testing.T) {
	f := getFixture(t)
	a, b := f.signers["A-ed"], f.signers["B-ec"]
	req, err := a.SignRequest(f.request("A"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.SignResponse(req, Response{Status: 200, ContentType: "application/json"})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range [][]byte{req.Raw, resp.Raw} {
		c, cert, h, err := Compact(raw)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != len(raw)-len(cert) || bytes.Contains(c, cert) {
			t.Fatalf("compact form of %d bytes still holds the certificate", len(c))
		}
		if got, ok := CompactCertHash(c); !ok || got != h {
			t.Fatal("compact form not recognised")
		}
		if _, ok := CompactCertHash(raw); ok {
			t.Fatal("a full envelope taken for a compact one")
		}
		back, err := Expand(c, cert)
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("expanded: %v", err)
		}
		other := bytes.Clone(cert)
		other[len(other)-1] ^= 1
		if _, err := Expand(c, other); !errors.Is(err, ErrMalformed) {
			t.Fatalf("other certificate: %v", err)
		}
	}
	if _, _, _, err := Compact([]byte("junk")); err == nil {
		t.Fatal("junk compacted")
	}
}
