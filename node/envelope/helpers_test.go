package envelope

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
)

// fixture is one CA (ca.Init in a temp dir) and the certificates the tests
// need, built once per test binary.
type fixture struct {
	ca      *ca.CA
	foreign *ca.CA
	roots   *x509.CertPool
	inters  *x509.CertPool
	// signers by name: "A-ed", "A-ec", "B-ed", "B-ec" (member-sign of
	// VN-TEST/GOV/A and /GOV/B), "A-node" (node-auth cert of GOV/A),
	// "A-foreign" (member-sign of GOV/A from another CA), "A-p384".
	signers map[string]*Signer
	t0      time.Time
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	fixDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		fix.ca.Close()
		fix.foreign.Close()
	}
	if fixDir != "" {
		os.RemoveAll(fixDir)
	}
	os.Exit(code)
}

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fix, fixErr = newFixture() })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

func newFixture() (*fixture, error) {
	var err error
	if fixDir, err = os.MkdirTemp("", "envelope-test-"); err != nil {
		return nil, err
	}
	quiet := ca.WithLogger(slog.New(slog.DiscardHandler))
	f := &fixture{signers: map[string]*Signer{}, t0: time.Now().Add(time.Hour)}
	pass := []byte("test passphrase")
	if f.ca, err = ca.Init(filepath.Join(fixDir, "ca"), ca.Config{Instance: "VN-TEST", Operator: "GOV/OP"}, pass, quiet); err != nil {
		return nil, err
	}
	if f.foreign, err = ca.Init(filepath.Join(fixDir, "foreign"), ca.Config{Instance: "VN-TEST", Operator: "GOV/OP"}, pass, quiet); err != nil {
		return nil, err
	}
	f.roots, f.inters = x509.NewCertPool(), x509.NewCertPool()
	f.roots.AddCert(f.ca.Root())
	f.inters.AddCert(f.ca.Intermediate())

	edKey := func() crypto.Signer { _, k, _ := ed25519.GenerateKey(rand.Reader); return k }
	ecKey := func(c elliptic.Curve) crypto.Signer { k, _ := ecdsa.GenerateKey(c, rand.Reader); return k }
	specs := []struct {
		name    string
		c       *ca.CA
		key     crypto.Signer
		profile ca.Profile
		member  string
	}{
		{"A-ed", f.ca, edKey(), ca.ProfileMemberSign, "GOV/A"},
		{"A-ec", f.ca, ecKey(elliptic.P256()), ca.ProfileMemberSign, "GOV/A"},
		{"B-ed", f.ca, edKey(), ca.ProfileMemberSign, "GOV/B"},
		{"B-ec", f.ca, ecKey(elliptic.P256()), ca.ProfileMemberSign, "GOV/B"},
		{"A-node", f.ca, edKey(), ca.ProfileNodeAuth, "GOV/A"},
		{"A-foreign", f.foreign, edKey(), ca.ProfileMemberSign, "GOV/A"},
		{"A-p384", f.ca, ecKey(elliptic.P384()), ca.ProfileMemberSign, "GOV/A"},
	}
	for _, s := range specs {
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{Organization: []string{"Agency"}}}, s.key)
		if err != nil {
			return nil, err
		}
		iss, err := s.c.Issue(context.Background(), ca.IssueRequest{CSR: csr, Profile: s.profile, Member: s.member})
		if err != nil {
			return nil, err
		}
		cert := iss.Chain[0]
		sg, err := NewSigner(s.key, cert)
		if err != nil {
			// P-384 is refused by NewSigner; build it by hand so the
			// verifier's refusal can be tested too.
			m, _ := certMember(cert)
			sg = &Signer{key: s.key, certDER: cert.Raw, certHash: sha256.Sum256(cert.Raw),
				info: &SignerInfo{Member: m, Cert: cert, PublicKey: cert.PublicKey}}
		}
		sg.Now = func() time.Time { return f.t0 }
		f.signers[s.name] = sg
	}
	return f, nil
}

func (f *fixture) policy() Policy {
	return Policy{
		Now:     func() time.Time { return f.t0 },
		MaxSkew: 2 * time.Minute,
		Certs:   NewChainChecker(f.roots, f.inters, 0),
	}
}

// testTarget is the provider node a test request is addressed to.
const testTarget = "12D3KooWProviderNodeB1"

func (f *fixture) request(client string) Request {
	body := []byte(`{"hello":"world"}`)
	return Request{
		RequestID:   NewRequestID(),
		Client:      "VN-TEST/GOV/" + client + "/SUBSYS",
		Service:     "VN-TEST/GOV/B/REGISTRY/persons/v1",
		Target:      testTarget,
		UserID:      "EE:alice",
		Method:      "POST",
		Path:        "/persons?id=1",
		BodySHA256:  sha256.Sum256(body),
		ContentType: "application/json",
		BodyLength:  uint64(len(body)),
	}
}

// forge signs r with s without the signer-member check, to build envelopes
// an honest Signer refuses to produce.
func forge(t testing.TB, s *Signer, signed []byte) []byte {
	t.Helper()
	sig, err := s.sign(signed)
	if err != nil {
		t.Fatal(err)
	}
	return assemble(signed, s.certDER, sig)
}

func forgeRequest(t testing.TB, s *Signer, r Request) []byte {
	t.Helper()
	r.Version = Version
	if r.Time.IsZero() {
		r.Time = s.Now()
	}
	return forge(t, s, r.appendSigned(nil, &s.certHash))
}

func forgeResponse(t testing.TB, s *Signer, r Response) []byte {
	t.Helper()
	r.Version = Version
	if r.Time.IsZero() {
		r.Time = s.Now()
	}
	return forge(t, s, r.appendSigned(nil, &s.certHash))
}
