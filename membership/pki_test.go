package membership

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
)

const testInstance = "VN-TEST"

// testT0 is the clock every unit test starts from.
var testT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// testLogger discards, unless DXL_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("DXL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testCA issues certificates shaped like the ca package's (URI SANs, EKUs)
// from an in-memory key, fast enough for thousands of admissions.
type testCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "DXL test CA"},
		NotBefore: testT0.Add(-time.Hour), NotAfter: testT0.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{key: key, cert: cert}
}

func randSerial(t testing.TB) *big.Int {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] |= 0x80
	return new(big.Int).SetBytes(b)
}

// issue returns a certificate DER for pub under profile, for member; serial
// nil means random.
func (c *testCA) issue(t testing.TB, profile ca.Profile, member string, pub crypto.PublicKey, serial *big.Int) []byte {
	t.Helper()
	if serial == nil {
		serial = randSerial(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: member},
		NotBefore: testT0.Add(-time.Minute), NotAfter: testT0.Add(2 * 365 * 24 * time.Hour),
		BasicConstraintsValid: true,
	}
	mu, _ := url.Parse(ca.URIMemberPrefix + member)
	tmpl.URIs = []*url.URL{mu}
	switch profile {
	case ca.ProfileNodeAuth:
		pid, err := ca.PeerIDFromKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(ca.URIPeerPrefix + pid.String())
		tmpl.URIs = append(tmpl.URIs, pu)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	case ca.ProfileMemberSign:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, pub, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// applicant is a prospective member with its two key pairs and CSRs.
type applicant struct {
	member           string // INSTANCE/CLASS/CODE
	code             string
	nodeKey, signKey ed25519.PrivateKey
	nodeCSR, signCSR []byte
	peerID           string
}

func newApplicant(t testing.TB, code string) *applicant {
	t.Helper()
	a := &applicant{member: testInstance + "/GOV/" + code, code: code}
	var err error
	if _, a.nodeKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, a.signKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	a.nodeCSR = makeCSR(t, a.nodeKey, code)
	a.signCSR = makeCSR(t, a.signKey, code)
	pid, err := ca.PeerIDFromKey(a.nodeKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	a.peerID = pid.String()
	return a
}

func makeCSR(t testing.TB, key crypto.Signer, cn string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"Agency " + cn}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func validRegistration(code string) Registration {
	return Registration{
		Unit:                  Unit{Name: "Agency " + code, Address: "1 Ba Dinh, Ha Noi"},
		Representative:        Person{Name: "Nguyen Van A", Title: "Director"},
		TechnicalContact:      Contact{Name: "Tran Thi B", Phone: "+84 24 3823 0000", Email: "it@" + code + ".gov.vn"},
		System:                System{Code: "SYS", Name: "Records database", BusinessDomain: "civil registry"},
		SecurityLevel:         3,
		SecurityApprovalDoc:   "QD-123/2025",
		HighestClassification: ClassInternal,
		ConnectionOption:      "own node in the agency data centre",
		DataCatalogue: []DataRow{{
			Name: "birth records", Classification: ClassInternal, Frequency: "daily", Method: MethodAPI,
			PlannedConnection: "2026-06-01", Purpose: "citizen services",
		}},
		Commitment: Commitment{SignerName: "Nguyen Van A", SignerTitle: "Director", SignerIDNumber: "001088000001", Date: "2026-02-20"},
	}
}

func (a *applicant) submit(reqID string) *SubmitRegistration {
	return &SubmitRegistration{
		Header: Header{Actor: "applicant:" + a.code}, RequestID: reqID, Member: a.member,
		Registration: validRegistration(a.code), NodeCSR: a.nodeCSR, SignCSR: a.signCSR,
		NodeAddrs: []string{"/ip4/10.0.0.1/tcp/4001"},
	}
}

func (a *applicant) approve(t testing.TB, c *testCA, reqID string) *ApproveRegistration {
	return &ApproveRegistration{
		Header:    Header{Actor: "operator"},
		RequestID: reqID,
		NodeCert:  Cert{DER: c.issue(t, ca.ProfileNodeAuth, a.member, a.nodeKey.Public(), nil)},
		SignCert:  Cert{DER: c.issue(t, ca.ProfileMemberSign, a.member, a.signKey.Public(), nil)},
	}
}

func (c *testCA) initCmd() *InitInstance {
	return &InitInstance{
		Header: Header{Actor: "operator"}, Instance: testInstance, CAChain: [][]byte{c.cert.Raw},
		TSAs: []TSA{{Name: "tsa1", URL: "https://tsa.example.vn/tsa", CertDER: c.cert.Raw}},
	}
}

func parseCertForTest(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }
