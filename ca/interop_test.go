package ca

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/testutil"
)

// TestOpenSSLInterop checks the CA against OpenSSL: requests made by
// `openssl req` are accepted, issued chains pass `openssl verify` for the
// profile's purpose, `openssl ocsp` sees good and then revoked, and
// `openssl crl` reads the CRL with the revoked serial in it.
func TestOpenSSLInterop(t *testing.T) {
	work := t.TempDir()
	openssl := testutil.OpenSSL(t, work)
	c, pub := serveTestCA(t)
	ctx := context.Background()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(work, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pem", pemCert(c.Root()))
	write("inter.pem", pemCert(c.Intermediate()))

	tests := []struct {
		profile Profile
		keyArgs []string
		purpose string
	}{
		{ProfileNodeAuth, []string{"-newkey", "ed25519"}, "sslclient"},
		{ProfileNodeAuth, []string{"-newkey", "rsa:2048"}, "sslserver"},
		{ProfileMemberSign, []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}, "any"},
		{ProfileTSA, []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"}, "timestampsign"},
		{ProfileRegistryConfig, []string{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"}, "any"},
	}
	var memberSign *Issued
	for i, tt := range tests {
		name := string(tt.profile) + "-" + string(rune('a'+i))
		args := append([]string{"req", "-new", "-nodes", "-keyout", name + ".key", "-subj", "/O=So TTTT Da Nang/CN=" + name, "-out", name + ".csr"}, tt.keyArgs...)
		openssl(args...)
		csr, err := os.ReadFile(filepath.Join(work, name+".csr"))
		if err != nil {
			t.Fatal(err)
		}
		issued, err := c.Issue(ctx, IssueRequest{CSR: csr, Profile: tt.profile, Member: "GOV/000.00.00.H17"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		write(name+".pem", []byte(issued.PEM))
		out := openssl("verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "-purpose", tt.purpose, "-x509_strict", name+".pem")
		if !strings.Contains(out, name+".pem: OK") {
			t.Fatalf("%s: openssl verify: %s", name, out)
		}
		if tt.profile == ProfileMemberSign {
			memberSign = issued
			write("leaf.pem", []byte(issued.PEM))
		}
	}

	ocspStatus := func() string {
		return openssl("ocsp", "-issuer", "inter.pem", "-cert", "leaf.pem", "-url", pub.URL+"/ocsp", "-CAfile", "root.pem", "-verify_other", "inter.pem")
	}
	if out := ocspStatus(); !strings.Contains(out, "leaf.pem: good") || !strings.Contains(out, "Response verify OK") {
		t.Fatalf("openssl ocsp before revocation:\n%s", out)
	}
	if _, err := c.Revoke(ctx, memberSign.Serial, ReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if out := ocspStatus(); !strings.Contains(out, "leaf.pem: revoked") || !strings.Contains(out, "Reason: keyCompromise") {
		t.Fatalf("openssl ocsp after revocation:\n%s", out)
	}
	der, err := c.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.crl", der)
	out := openssl("crl", "-inform", "DER", "-in", "ca.crl", "-noout", "-text", "-CAfile", "inter.pem")
	if !strings.Contains(out, "verify OK") || !strings.Contains(strings.ToLower(out), strings.ToLower(memberSign.Serial)) {
		t.Fatalf("openssl crl:\n%s", out)
	}
	// A chain check with the CRL: OpenSSL itself rejects the revoked leaf.
	openssl("crl", "-inform", "DER", "-in", "ca.crl", "-out", "ca-crl.pem")
	if out, err := testutil.RunOpenSSL("openssl", work, "verify", "-crl_check", "-CRLfile", "ca-crl.pem", "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem"); err == nil || !strings.Contains(out, "revoked") {
		t.Fatalf("openssl verify -crl_check accepted a revoked certificate:\n%s", out)
	}
}
