package ca

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509/pkix"
	"net"
	"sort"
	"testing"

	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"
)

// lintRegistry holds the RFC and community lints. The CA/Browser Forum,
// Mozilla, Apple and ETSI sources are left out on purpose: they govern the
// public web PKI, which DXL's private PKI is not part of.
func lintRegistry(t *testing.T) lint.Registry {
	reg, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: lint.SourceList{
		lint.RFC5280, lint.RFC5480, lint.RFC5891, lint.RFC8813, lint.Community,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func lintDER(t *testing.T, reg lint.Registry, name string, der []byte) {
	t.Helper()
	cert, err := zx509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("%s: zcrypto cannot parse: %v", name, err)
	}
	res := zlint.LintCertificateEx(cert, reg)
	applied := 0
	for _, r := range res.Results {
		if r.Status != lint.NA && r.Status != lint.NE {
			applied++
		}
	}
	if applied < 20 {
		t.Fatalf("%s: only %d lints applied; the registry filter is wrong", name, applied)
	}
	var names []string
	for n := range res.Results {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		switch r := res.Results[n]; r.Status {
		case lint.Error, lint.Fatal:
			t.Errorf("%s: %s: %s %s", name, n, r.Status, r.Details)
		case lint.Warn:
			t.Logf("%s: warning %s %s", name, n, r.Details)
		}
	}
}

func TestCertificatesPassLint(t *testing.T) {
	reg := lintRegistry(t)
	c, err := Init(t.TempDir()+"/ca", Config{Instance: "VN-TEST", Operator: "GOV/OP", PublicURL: "http://ca.dxl.test:8081"}, testPass, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lintDER(t, reg, "root", c.Root().Raw)
	lintDER(t, reg, "intermediate", c.Intermediate().Raw)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, p := range Profiles {
		key := ecKey(t)
		csr := makeCSR(t, key, pkix.Name{Organization: []string{"Bo Tai chinh"}})
		if p == ProfileNodeAuth {
			csr = makeCSR(t, edKey, pkix.Name{Organization: []string{"Bo Tai chinh"}})
		}
		req := IssueRequest{CSR: csr, Profile: p, Member: "GOV/000.00.00.G12"}
		if p == ProfileRegistryServer {
			req.CommonName, req.DNSNames, req.IPs = "reg-1", []string{"registry-1.dxl.test"}, []net.IP{net.ParseIP("10.0.0.1")}
		}
		issued, err := c.Issue(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		lintDER(t, reg, string(p), issued.DER)
	}
}
