package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

var (
	testPass = []byte("test passphrase")
	quiet    = WithLogger(slog.New(slog.DiscardHandler))
)

func newTestCA(t testing.TB) *CA {
	t.Helper()
	c, err := Init(filepath.Join(t.TempDir(), "ca"), Config{Instance: "VN-TEST", Operator: "GOV/OPERATOR"}, testPass, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func makeCSR(t testing.TB, key crypto.Signer, subject pkix.Name) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifyChain(t *testing.T, c *CA, cert *x509.Certificate, usage x509.ExtKeyUsage) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(c.Root())
	inters.AddCert(c.Intermediate())
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		t.Fatalf("chain does not verify: %v", err)
	}
}

func TestInitLayoutAndReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	c, err := Init(dir, Config{Instance: "VN-TEST"}, testPass, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Root().IsCA || c.Root().MaxPathLen != 1 || !c.Intermediate().IsCA || !c.Intermediate().MaxPathLenZero {
		t.Fatal("CA certificates lack the right basic constraints")
	}
	if c.Root().KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("root key usage %v", c.Root().KeyUsage)
	}
	if err := c.Intermediate().CheckSignatureFrom(c.Root()); err != nil {
		t.Fatal(err)
	}
	if got := c.Root().Subject.Country; !slices.Equal(got, []string{"VN"}) {
		t.Fatalf("root C = %v", got)
	}
	if _, err := Init(dir, Config{Instance: "VN-TEST"}, testPass); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v", err)
	}
	// The database is locked while c is open.
	if _, err := Open(dir, testPass); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while locked: %v", err)
	}
	c.Close()
	if _, err := Open(dir, []byte("wrong")); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	c2, err := Open(dir, testPass)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.Root().Equal(c.Root()) {
		t.Fatal("reopened CA has another root")
	}
	if _, err := Open(t.TempDir(), testPass); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty dir: %v", err)
	}
	if _, err := Init(t.TempDir(), Config{Instance: "bad instance"}, testPass); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("bad instance: %v", err)
	}
}

func TestIssueProfiles(t *testing.T) {
	c := newTestCA(t)
	ctx := context.Background()

	t.Run("node-auth binds peer ID", func(t *testing.T) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		issued, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, priv, pkix.Name{Organization: []string{"So TTTT Ha Noi"}}), Profile: ProfileNodeAuth, Member: "GOV/000.00.00.H26"})
		if err != nil {
			t.Fatal(err)
		}
		cert := issued.Chain[0]
		p2pPub, _ := p2pcrypto.UnmarshalEd25519PublicKey(pub)
		want, _ := peer.IDFromPublicKey(p2pPub)
		if issued.PeerID != want.String() {
			t.Fatalf("peer ID %s, want %s", issued.PeerID, want)
		}
		var uris []string
		for _, u := range cert.URIs {
			uris = append(uris, u.String())
		}
		if !slices.Contains(uris, URIPeerPrefix+want.String()) || !slices.Contains(uris, URIMemberPrefix+"VN-TEST/GOV/000.00.00.H26") {
			t.Fatalf("URIs %v", uris)
		}
		if cert.Subject.SerialNumber != "000.00.00.H26" || cert.Subject.Organization[0] != "So TTTT Ha Noi" || cert.Subject.Country[0] != "VN" {
			t.Fatalf("subject %s", cert.Subject)
		}
		if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) || cert.IsCA {
			t.Fatalf("EKU %v", cert.ExtKeyUsage)
		}
		verifyChain(t, c, cert, x509.ExtKeyUsageClientAuth)
		if _, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, priv, pkix.Name{Organization: []string{"X"}}), Profile: ProfileNodeAuth, Member: "GOV/H26", PeerID: "12D3KooWwrong"}); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("mismatching peer ID: %v", err)
		}
	})
	t.Run("member-sign", func(t *testing.T) {
		issued, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{CommonName: "ignored?", Organization: []string{"Bo Y te"}}), Profile: ProfileMemberSign, Member: "VN-TEST/GOV/000.00.00.G10", CommonName: "Bo Y te signing"})
		if err != nil {
			t.Fatal(err)
		}
		cert := issued.Chain[0]
		if cert.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || len(cert.ExtKeyUsage) != 0 {
			t.Fatalf("key usage %v eku %v", cert.KeyUsage, cert.ExtKeyUsage)
		}
		if cert.Subject.CommonName != "Bo Y te signing" || cert.Subject.SerialNumber != "000.00.00.G10" {
			t.Fatalf("subject %s", cert.Subject)
		}
		verifyChain(t, c, cert, x509.ExtKeyUsageAny)
	})
	t.Run("tsa has a critical timeStamping EKU only", func(t *testing.T) {
		issued, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{}), Profile: ProfileTSA})
		if err != nil {
			t.Fatal(err)
		}
		cert := issued.Chain[0]
		if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}) {
			t.Fatalf("EKU %v", cert.ExtKeyUsage)
		}
		critical := false
		for _, e := range cert.Extensions {
			if e.Id.Equal([]int{2, 5, 29, 37}) {
				critical = e.Critical
			}
		}
		if !critical {
			t.Fatal("EKU not critical")
		}
		if cert.Subject.SerialNumber != "OPERATOR" || issued.Member != "VN-TEST/GOV/OPERATOR" || cert.Subject.CommonName != "DXL Time-Stamping Authority" {
			t.Fatalf("subject %s member %s", cert.Subject, issued.Member)
		}
		verifyChain(t, c, cert, x509.ExtKeyUsageTimeStamping)
	})
	t.Run("registry-config with RSA", func(t *testing.T) {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		issued, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, k, pkix.Name{}), Profile: ProfileRegistryConfig, Validity: Duration(48 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		cert := issued.Chain[0]
		if cert.KeyUsage != x509.KeyUsageDigitalSignature || cert.NotAfter.Sub(cert.NotBefore) > 49*time.Hour {
			t.Fatalf("key usage %v validity %v", cert.KeyUsage, cert.NotAfter.Sub(cert.NotBefore))
		}
	})
	recs, err := c.List(ctx, "")
	if err != nil || len(recs) != 4 {
		t.Fatalf("List = %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		cert, err := x509.ParseCertificate(r.DER)
		if err != nil || SerialHex(cert.SerialNumber) != r.Serial || len(cert.SerialNumber.Bytes()) != 16 {
			t.Fatalf("record %s does not match its certificate: %v", r.Serial, err)
		}
	}
}

func TestIssueRejects(t *testing.T) {
	c := newTestCA(t)
	ctx := context.Background()
	good := makeCSR(t, ecKey(t), pkix.Name{Organization: []string{"Org"}})
	block, _ := pem.Decode(good)
	tampered := slices.Clone(block.Bytes)
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)

	tests := []struct {
		name string
		req  IssueRequest
		want error
	}{
		{"garbage", IssueRequest{CSR: []byte("not a csr"), Profile: ProfileMemberSign, Member: "GOV/A"}, ErrCSRMalformed},
		{"wrong PEM type", IssueRequest{CSR: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}), Profile: ProfileMemberSign, Member: "GOV/A"}, ErrCSRMalformed},
		{"bad self-signature", IssueRequest{CSR: tampered, Profile: ProfileMemberSign, Member: "GOV/A"}, ErrCSRSignature},
		{"RSA 1024", IssueRequest{CSR: makeCSR(t, rsa1024, pkix.Name{}), Profile: ProfileMemberSign, Member: "GOV/A"}, ErrWeakKey},
		{"P-224", IssueRequest{CSR: makeCSR(t, p224, pkix.Name{}), Profile: ProfileMemberSign, Member: "GOV/A"}, ErrWeakKey},
		{"oversized", IssueRequest{CSR: make([]byte, MaxCSRSize+1), Profile: ProfileMemberSign, Member: "GOV/A"}, ErrCSRTooLarge},
		{"unknown profile", IssueRequest{CSR: good, Profile: "root", Member: "GOV/A"}, ErrUnknownProfile},
		{"missing member", IssueRequest{CSR: good, Profile: ProfileNodeAuth}, ErrBadRequest},
		{"foreign instance", IssueRequest{CSR: good, Profile: ProfileMemberSign, Member: "VN/GOV/A"}, ErrBadRequest},
		{"bad member code", IssueRequest{CSR: good, Profile: ProfileMemberSign, Member: "GOV/a b"}, ErrBadRequest},
		{"no organisation", IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{}), Profile: ProfileMemberSign, Member: "GOV/A"}, ErrBadRequest},
		{"control characters", IssueRequest{CSR: good, Profile: ProfileMemberSign, Member: "GOV/A", CommonName: "x\ny"}, ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Issue(ctx, tt.req); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if recs, _ := c.List(ctx, ""); len(recs) != 0 {
		t.Fatalf("rejected requests left %d records", len(recs))
	}
}

func TestRevokeCRL(t *testing.T) {
	c := newTestCA(t)
	ctx := context.Background()
	a, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{Organization: []string{"O"}}), Profile: ProfileMemberSign, Member: "GOV/A"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{Organization: []string{"O"}}), Profile: ProfileMemberSign, Member: "GOV/B"})
	if err != nil {
		t.Fatal(err)
	}
	crl1 := parseCRL(t, c)
	if len(crl1.RevokedCertificateEntries) != 0 {
		t.Fatal("fresh CRL lists revocations")
	}
	if rec, err := c.Revoke(ctx, strings.ToUpper(a.Serial), ReasonKeyCompromise); err != nil || rec.Status != StatusRevoked {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := c.Revoke(ctx, a.Serial, ReasonKeyCompromise); !errors.Is(err, ErrAlreadyRevoked) {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := c.Revoke(ctx, "00ff", ReasonUnspecified); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("unknown serial: %v", err)
	}
	if _, err := c.Revoke(ctx, "zz", ReasonUnspecified); !errors.Is(err, ErrUnknownSerial) {
		t.Fatalf("non-hex serial: %v", err)
	}
	crl2 := parseCRL(t, c)
	if crl2.Number.Cmp(crl1.Number) <= 0 {
		t.Fatalf("CRL number did not grow: %v then %v", crl1.Number, crl2.Number)
	}
	if len(crl2.RevokedCertificateEntries) != 1 || SerialHex(crl2.RevokedCertificateEntries[0].SerialNumber) != a.Serial || crl2.RevokedCertificateEntries[0].ReasonCode != int(ReasonKeyCompromise) {
		t.Fatalf("CRL entries %+v", crl2.RevokedCertificateEntries)
	}
	if rec, _ := c.Get(ctx, b.Serial); rec.Status != StatusValid {
		t.Fatal("revoking a touched b")
	}
	if revoked, _ := c.List(ctx, StatusRevoked); len(revoked) != 1 {
		t.Fatalf("List(revoked) = %d", len(revoked))
	}
	if _, err := ParseReason("certificateHold"); !errors.Is(err, ErrBadReason) {
		t.Fatal("certificateHold accepted")
	}
}

func parseCRL(t *testing.T, c *CA) *x509.RevocationList {
	t.Helper()
	der, err := c.CRL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(c.Intermediate()); err != nil {
		t.Fatal(err)
	}
	return crl
}
