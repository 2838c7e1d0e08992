package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testPKI is a throwaway root -> intermediate -> TSA leaf chain.
type testPKI struct {
	root, inter, leaf          *x509.Certificate
	rootKey, interKey, leafKey crypto.Signer
	roots, inters              *x509.CertPool
}

var serialCounter = big.NewInt(100)

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mkCert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = new(big.Int).Add(serialCounter, big.NewInt(time.Now().UnixNano()))
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"DXL test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// leafTemplate is a proper TSA certificate: critical EKU timeStamping only.
func leafTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:         pkix.Name{CommonName: cn, Organization: []string{"DXL test"}},
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(12 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{TimeStampingExtension()},
	}
}

func newTestPKI(t testing.TB, name string) *testPKI {
	t.Helper()
	p := &testPKI{rootKey: mustKey(t), interKey: mustKey(t), leafKey: mustKey(t)}
	p.root = mkCert(t, caTemplate(name+" root"), nil, p.rootKey.Public(), p.rootKey)
	it := caTemplate(name + " intermediate")
	it.MaxPathLenZero = true
	p.inter = mkCert(t, it, p.root, p.interKey.Public(), p.rootKey)
	p.leaf = mkCert(t, leafTemplate(name+" TSA"), p.inter, p.leafKey.Public(), p.interKey)
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root)
	p.inters = x509.NewCertPool()
	p.inters.AddCert(p.inter)
	return p
}

// issueLeaf issues another leaf from tmpl with a fresh key.
func (p *testPKI) issueLeaf(t testing.TB, tmpl *x509.Certificate) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	k := mustKey(t)
	return mkCert(t, tmpl, p.inter, k.Public(), p.interKey), k
}

func (p *testPKI) chain() []*x509.Certificate {
	return []*x509.Certificate{p.leaf, p.inter, p.root}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestAuthority builds an Authority over a fresh serial store.
func newTestAuthority(t testing.TB, p *testPKI, mod func(*Config)) *Authority {
	t.Helper()
	serials, err := OpenSerials(filepath.Join(t.TempDir(), "tsa.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serials.Close() })
	cfg := Config{Signer: p.leafKey, Chain: p.chain(), Logger: quietLogger()}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, serials)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustOID(s string) asn1.ObjectIdentifier {
	o, err := ParsePolicy(s)
	if err != nil {
		panic(err)
	}
	return o
}

func digestOf(h crypto.Hash, data []byte) []byte {
	d := h.New()
	d.Write(data)
	return d.Sum(nil)
}

func mustRequest(t testing.TB, h crypto.Hash, digest []byte, o RequestOptions) []byte {
	t.Helper()
	der, err := MarshalRequest(h, digest, o)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func writePEM(t testing.TB, path string, certs ...*x509.Certificate) {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}
