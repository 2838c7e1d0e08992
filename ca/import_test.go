package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// copyCA copies a closed CA directory, as a second registry server holds it.
func copyCA(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "ca-copy")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ca")
	a, err := Init(dir, Config{Instance: "VN-TEST", Operator: "GOV/OPERATOR"}, testPass, quiet)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := Open(copyCA(t, dir), testPass, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if a, err = Open(dir, testPass, quiet); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "n", Organization: []string{"Agency"}}}, key)
	iss, err := a.Issue(ctx, IssueRequest{CSR: csr, Profile: ProfileNodeAuth, Member: "GOV/H26"})
	if err != nil {
		t.Fatal(err)
	}
	cert := iss.Chain[0]
	ocspStatus := func(c *CA) int {
		req, err := ocsp.CreateRequest(cert, c.Intermediate(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponse(c.OCSP(req), c.Intermediate())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	if got := ocspStatus(b); got != ocsp.Unknown {
		t.Fatalf("before import: OCSP status %d", got)
	}
	rec, err := b.Import(ctx, cert, ProfileNodeAuth)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Serial != iss.Serial || rec.Member != "VN-TEST/GOV/H26" || rec.PeerID != iss.PeerID || rec.Fingerprint != iss.Fingerprint {
		t.Fatalf("record %+v, issued %+v", rec, iss.Record)
	}
	if ocspStatus(b) != ocsp.Good {
		t.Fatal("imported certificate not good")
	}
	// Idempotent, also on the issuing copy, and after revocation.
	if _, err := a.Import(ctx, cert, ProfileNodeAuth); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Revoke(ctx, iss.Serial, ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if rec, err = b.Import(ctx, cert, ProfileNodeAuth); err != nil || rec.Status != StatusRevoked {
		t.Fatalf("re-import after revoke: %v %+v", err, rec)
	}
	if ocspStatus(b) != ocsp.Revoked {
		t.Fatal("revoked certificate not revoked")
	}

	// Refusals: unknown profile, another issuer, a forged signature, a
	// different certificate under a known serial.
	if _, err := b.Import(ctx, cert, "nope"); !errors.Is(err, ErrUnknownProfile) {
		t.Fatalf("unknown profile: %v", err)
	}
	other := newTestCA(t)
	oiss, err := other.Issue(ctx, IssueRequest{CSR: csr, Profile: ProfileNodeAuth, Member: "GOV/H26"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Import(ctx, oiss.Chain[0], ProfileNodeAuth); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("other issuer: %v", err)
	}
	forgedKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "forged"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	forgedParent := *b.Intermediate() // same subject, wrong key
	forgedParent.PublicKey = forgedKey.Public()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, &forgedParent, key.Public(), forgedKey)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := x509.ParseCertificate(der)
	if _, err := b.Import(ctx, forged, ProfileNodeAuth); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("forged: %v", err)
	}
	twin, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: cert.SerialNumber, Subject: pkix.Name{CommonName: "twin"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, b.Intermediate(), key.Public(), b.key)
	if err != nil {
		t.Fatal(err)
	}
	tc, _ := x509.ParseCertificate(twin)
	if _, err := b.Import(ctx, tc, ProfileNodeAuth); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("twin serial: %v", err)
	}
}
