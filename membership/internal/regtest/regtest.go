package regtest

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
	"github.com/dxl-network/dxl/membership/state"
)

// Instance is the instance code of every test registry.
const Instance = "VN-TEST"

// T0 is the clock every unit test starts from.
var T0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Logger discards, unless DXL_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("DXL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// CA issues certificates shaped like the ca package's (URI SANs, EKUs)
// from an in-memory key, fast enough for thousands of admissions.
type CA struct {
	Key  *ecdsa.PrivateKey
	Cert *x509.Certificate
}

func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "DXL test CA"},
		NotBefore: T0.Add(-time.Hour), NotAfter: T0.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Key: key, Cert: cert}
}

func RandSerial(t testing.TB) *big.Int {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] |= 0x80
	return new(big.Int).SetBytes(b)
}

// issue returns a certificate DER for pub under profile, for member; serial
// nil means random.
func (c *CA) Issue(t testing.TB, profile ca.Profile, member string, pub crypto.PublicKey, serial *big.Int) []byte {
	t.Helper()
	if serial == nil {
		serial = RandSerial(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: member},
		NotBefore: T0.Add(-time.Minute), NotAfter: T0.Add(2 * 365 * 24 * time.Hour),
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.Cert, pub, c.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Applicant is a prospective member with its two key pairs and CSRs.
type Applicant struct {
	Member           string // INSTANCE/CLASS/CODE
	Code             string
	NodeKey, SignKey ed25519.PrivateKey
	NodeCSR, SignCSR []byte
	PeerID           string
}

func NewApplicant(t testing.TB, code string) *Applicant {
	t.Helper()
	a := &Applicant{Member: Instance + "/GOV/" + code, Code: code}
	var err error
	if _, a.NodeKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, a.SignKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	a.NodeCSR = MakeCSR(t, a.NodeKey, code)
	a.SignCSR = MakeCSR(t, a.SignKey, code)
	pid, err := ca.PeerIDFromKey(a.NodeKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	a.PeerID = pid.String()
	return a
}

func MakeCSR(t testing.TB, key crypto.Signer, cn string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"Agency " + cn}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func ValidRegistration(code string) state.Registration {
	return state.Registration{
		Unit:                  state.Unit{Name: "Agency " + code, Address: "1 Ba Dinh, Ha Noi"},
		Representative:        state.Person{Name: "Nguyen Van A", Title: "Director"},
		TechnicalContact:      state.Contact{Name: "Tran Thi B", Phone: "+84 24 3823 0000", Email: "it@" + code + ".gov.vn"},
		System:                state.System{Code: "SYS", Name: "Records database", BusinessDomain: "civil registry"},
		SecurityLevel:         3,
		SecurityApprovalDoc:   "QD-123/2025",
		HighestClassification: state.ClassInternal,
		ConnectionOption:      "own node in the agency data centre",
		DataCatalogue: []state.DataRow{{
			Name: "birth records", Classification: state.ClassInternal, Frequency: "daily", Method: state.MethodAPI,
			PlannedConnection: "2026-06-01", Purpose: "citizen services",
		}},
		Commitment: state.Commitment{SignerName: "Nguyen Van A", SignerTitle: "Director", SignerIDNumber: "001088000001", Date: "2026-02-20"},
	}
}

func (a *Applicant) Submit(reqID string) *state.SubmitRegistration {
	return &state.SubmitRegistration{
		Header: state.Header{Actor: "applicant:" + a.Code}, RequestID: reqID, Member: a.Member,
		Registration: ValidRegistration(a.Code), NodeCSR: a.NodeCSR, SignCSR: a.SignCSR,
		NodeAddrs: []string{"/ip4/10.0.0.1/tcp/4001"},
	}
}

func (a *Applicant) Approve(t testing.TB, c *CA, reqID string) *state.ApproveRegistration {
	return &state.ApproveRegistration{
		Header:    state.Header{Actor: "operator"},
		RequestID: reqID,
		NodeCert:  state.Cert{DER: c.Issue(t, ca.ProfileNodeAuth, a.Member, a.NodeKey.Public(), nil)},
		SignCert:  state.Cert{DER: c.Issue(t, ca.ProfileMemberSign, a.Member, a.SignKey.Public(), nil)},
	}
}

func (c *CA) InitCmd() *state.InitInstance {
	return &state.InitInstance{
		Header: state.Header{Actor: "operator"}, Instance: Instance, CAChain: [][]byte{c.Cert.Raw},
		TSAs: []state.TSA{{Name: "tsa1", URL: "https://tsa.example.vn/tsa", CertDER: c.Cert.Raw}},
	}
}

func ParseCertForTest(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }

// Harness applies commands to a State the way a server would (stamp,
// prepare, apply at the next index), without Raft.
type Harness struct {
	T   *testing.T
	St  *state.State
	Idx uint64
	Now time.Time
	CA  *CA
}

// NewHarness returns a harness with an initialised instance.
func NewHarness(t *testing.T) *Harness {
	h := &Harness{T: t, St: state.NewState(), Now: T0, CA: NewCA(t)}
	h.Must(h.CA.InitCmd())
	return h
}

// Do prepares and applies cmd; raw skips prepare (a command that did not
// come through a proposer).
func (h *Harness) Do(cmd state.Command, raw bool) error {
	h.Now = h.Now.Add(time.Minute)
	if hd := cmd.CommandHeader(); hd.Time.IsZero() {
		hd.Time = h.Now
	}
	if !raw {
		if err := cmd.Prepare(rand.Reader); err != nil {
			return err
		}
	}
	// Through the log encoding, as every replica sees it.
	b, err := state.EncodeCommand(cmd)
	if err != nil {
		return err
	}
	dec, err := state.DecodeCommand(b)
	if err != nil {
		return err
	}
	h.Idx++
	_, err = h.St.Apply(h.Idx, dec)
	return err
}

// Must applies cmd and fails the test on an error.
func (h *Harness) Must(cmd state.Command) {
	h.T.Helper()
	if err := h.Do(cmd, false); err != nil {
		h.T.Fatalf("%s: %v", cmd.Type(), err)
	}
}

// Admit submits and approves a new applicant.
func (h *Harness) Admit(code string) *Applicant {
	h.T.Helper()
	a := NewApplicant(h.T, code)
	h.Must(a.Submit("req-" + code))
	h.Must(a.Approve(h.T, h.CA, "req-"+code))
	return a
}

// Encode returns the canonical encoding of the state.
func (h *Harness) Encode() []byte {
	h.T.Helper()
	b, err := h.St.Encode()
	if err != nil {
		h.T.Fatal(err)
	}
	return b
}
