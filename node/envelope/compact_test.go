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

// FuzzCompact: Compact, CompactCertHash and Expand never panic on any
// input; whatever Compact accepts, Expand restores byte for byte.
func FuzzCompact(f *testing.F) {
	fx := getFixture(f)
	req, err := fx.signers["A-ed"].SignRequest(fx.request("A"))
	if err != nil {
		f.Fatal(err)
	}
	c, _, _, _ := Compact(req.Raw)
	f.Add(req.Raw)
	f.Add(c)
	f.Add([]byte{0, 0, 0, 1, 'x', 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if h, ok := CompactCertHash(raw); ok {
			_, _ = Expand(raw, h[:])
		}
		c, cert, _, err := Compact(raw)
		if err != nil {
			return
		}
		back, err := Expand(c, cert)
		if err != nil || !bytes.Equal(back, raw) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
