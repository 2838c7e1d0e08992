package globalconf

import (
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnchorSaveLoad: Save writes 0644 atomically; LoadAnchor reads the
// same anchor back.
func TestAnchorSaveLoad(t *testing.T) {
	p, _ := pkis(t)
	a, err := NewAnchor(testInstance, p.root, p.ecCert, []string{"https://10.0.0.1:8443", "https://reg.example/dxl"})
	if err != nil {
		t.Fatal(err)
	}
	a.Signers = append(a.Signers, p.edCert) // a standby signer
	path := filepath.Join(t.TempDir(), AnchorFile)
	if err := a.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
	b, err := LoadAnchor(path)
	if err != nil {
		t.Fatal(err)
	}
	if b.Instance != a.Instance || len(b.Roots) != 1 || !b.Roots[0].Equal(p.root) || len(b.Signers) != 2 ||
		!b.IsSigner(p.ecCert) || !b.IsSigner(p.edCert) || b.IsSigner(p.rsaCert) || strings.Join(b.Servers, ",") != strings.Join(a.Servers, ",") {
		t.Fatalf("loaded anchor differs: %+v", b)
	}
	// Saving again replaces the file and leaves no temporary behind.
	if err := b.Save(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after two saves", len(entries))
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"ca_roots": "-----BEGIN CERTIFICATE-----`) {
		t.Fatalf("anchor file is not the documented shape:\n%s", raw)
	}
}

// TestAnchorRejects: invalid anchors, each refused with ErrBadAnchor.
func TestAnchorRejects(t *testing.T) {
	p, _ := pkis(t)
	cases := []struct {
		name string
		a    func() *Anchor
	}{
		{"instance", func() *Anchor {
			return &Anchor{Instance: "", Roots: []*x509.Certificate{p.root}, Signers: []*x509.Certificate{p.ecCert}, Servers: []string{"https://a"}}
		}},
		{"no root", func() *Anchor {
			return &Anchor{Instance: testInstance, Signers: []*x509.Certificate{p.ecCert}, Servers: []string{"https://a"}}
		}},
		{"intermediate as root", func() *Anchor {
			return &Anchor{Instance: testInstance, Roots: []*x509.Certificate{p.inter}, Signers: []*x509.Certificate{p.ecCert}, Servers: []string{"https://a"}}
		}},
		{"no signer", func() *Anchor {
			return &Anchor{Instance: testInstance, Roots: []*x509.Certificate{p.root}, Servers: []string{"https://a"}}
		}},
		{"CA as signer", func() *Anchor {
			return &Anchor{Instance: testInstance, Roots: []*x509.Certificate{p.root}, Signers: []*x509.Certificate{p.inter}, Servers: []string{"https://a"}}
		}},
		{"duplicate signer", func() *Anchor {
			return &Anchor{Instance: testInstance, Roots: []*x509.Certificate{p.root}, Signers: []*x509.Certificate{p.ecCert, p.ecCert}, Servers: []string{"https://a"}}
		}},
		{"no server", func() *Anchor {
			return &Anchor{Instance: testInstance, Roots: []*x509.Certificate{p.root}, Signers: []*x509.Certificate{p.ecCert}}
		}},
		{"bad server", func() *Anchor {
			return &Anchor{Instance: testInstance, Roots: []*x509.Certificate{p.root}, Signers: []*x509.Certificate{p.ecCert}, Servers: []string{"reg.example:8443"}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.a().Validate(); !errors.Is(err, ErrBadAnchor) {
				t.Fatalf("Validate = %v, want ErrBadAnchor", err)
			}
		})
	}
	good, _ := anchorFor(t, p).Marshal()
	for name, data := range map[string]string{
		"unknown field": strings.Replace(string(good), `"format": 1,`, `"format": 1, "extra": 1,`, 1),
		"format 2":      strings.Replace(string(good), `"format": 1,`, `"format": 2,`, 1),
		"not PEM":       strings.Replace(string(good), "-----BEGIN CERTIFICATE-----", "-----BEGIN RSA PRIVATE KEY-----", 1),
		"not JSON":      "instance=VN",
	} {
		if _, err := ParseAnchor([]byte(data)); !errors.Is(err, ErrBadAnchor) {
			t.Errorf("%s: ParseAnchor = %v, want ErrBadAnchor", name, err)
		}
	}
	if _, err := LoadAnchor(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, ErrBadAnchor) {
		t.Errorf("missing file: %v", err)
	}
}
