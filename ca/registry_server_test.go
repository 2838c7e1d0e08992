package ca

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"slices"
	"testing"
)

func TestRegistryServerProfile(t *testing.T) {
	c, err := Init(t.TempDir()+"/ca", Config{Instance: "VN-TEST", Operator: "GOV/OP"}, testPass, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	csr := makeCSR(t, ecKey(t), pkix.Name{CommonName: "ignored"})
	iss, err := c.Issue(ctx, IssueRequest{CSR: csr, Profile: ProfileRegistryServer, CommonName: "reg-1",
		DNSNames: []string{"registry-1.dxl.test", "localhost"}, IPs: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}})
	if err != nil {
		t.Fatal(err)
	}
	cert := iss.Chain[0]
	if cert.Subject.CommonName != "reg-1" || iss.Member != "VN-TEST/GOV/OP" {
		t.Fatalf("subject %s member %q", cert.Subject, iss.Member)
	}
	if id, ok := IsRegistryServer(cert); !ok || id != "reg-1" {
		t.Fatalf("IsRegistryServer = %q %v", id, ok)
	}
	if !slices.Equal(cert.DNSNames, []string{"registry-1.dxl.test", "localhost"}) || len(cert.IPAddresses) != 2 {
		t.Fatalf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
	}
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Fatalf("EKU %v", cert.ExtKeyUsage)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.Root())
	inter := x509.NewCertPool()
	inter.AddCert(c.Intermediate())
	for _, host := range []string{"registry-1.dxl.test", "127.0.0.1", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	node, err := c.Issue(ctx, IssueRequest{CSR: makeCSR(t, ecKey(t), pkix.Name{Organization: []string{"X"}}), Profile: ProfileNodeAuth, Member: "GOV/A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := IsRegistryServer(node.Chain[0]); ok {
		t.Fatal("a node-auth certificate passes as a registry server's")
	}
	for name, req := range map[string]IssueRequest{
		"no ID":              {CSR: makeCSR(t, ecKey(t), pkix.Name{}), Profile: ProfileRegistryServer},
		"bad ID":             {CSR: csr, Profile: ProfileRegistryServer, CommonName: "reg 1"},
		"upper-case DNS":     {CSR: csr, Profile: ProfileRegistryServer, CommonName: "r", DNSNames: []string{"Reg.example"}},
		"wildcard DNS":       {CSR: csr, Profile: ProfileRegistryServer, CommonName: "r", DNSNames: []string{"*.example"}},
		"empty label":        {CSR: csr, Profile: ProfileRegistryServer, CommonName: "r", DNSNames: []string{"a..b"}},
		"unspecified IP":     {CSR: csr, Profile: ProfileRegistryServer, CommonName: "r", IPs: []net.IP{net.IPv4zero}},
		"SAN on member-sign": {CSR: csr, Profile: ProfileMemberSign, Member: "GOV/A", Organization: "X", DNSNames: []string{"a.b"}},
	} {
		if _, err := c.Issue(ctx, req); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", name, err)
		}
	}
}
