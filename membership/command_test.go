package membership

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/ca"
)

func TestRegistrationValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(r *Registration)
		want error
	}{
		{"valid", func(r *Registration) {}, nil},
		{"no unit name", func(r *Registration) { r.Unit.Name = "" }, ErrInvalidRegistration},
		{"control character", func(r *Registration) { r.Unit.Address = "line1\nline2" }, ErrInvalidRegistration},
		{"long name", func(r *Registration) { r.Representative.Name = strings.Repeat("x", 300) }, ErrInvalidRegistration},
		{"bad email", func(r *Registration) { r.TechnicalContact.Email = "Tran <it@x.vn>" }, ErrInvalidRegistration},
		{"bad phone", func(r *Registration) { r.TechnicalContact.Phone = "call me" }, ErrInvalidRegistration},
		{"bad system code", func(r *Registration) { r.System.Code = "a b" }, ErrInvalidRegistration},
		{"security level 0", func(r *Registration) { r.SecurityLevel = 0 }, ErrInvalidRegistration},
		{"security level 6", func(r *Registration) { r.SecurityLevel = 6 }, ErrInvalidRegistration},
		{"no approval document", func(r *Registration) { r.SecurityApprovalDoc = "" }, ErrInvalidRegistration},
		{"top secret", func(r *Registration) { r.HighestClassification = ClassTopSecret }, ErrClassificationRefused},
		{"top secret row", func(r *Registration) { r.DataCatalogue[0].Classification = ClassTopSecret }, ErrClassificationRefused},
		{"unknown classification", func(r *Registration) { r.HighestClassification = "confidential" }, ErrInvalidRegistration},
		{"row above highest", func(r *Registration) { r.DataCatalogue[0].Classification = ClassSecret }, ErrInvalidRegistration},
		{"bad method", func(r *Registration) { r.DataCatalogue[0].Method = "ftp" }, ErrInvalidRegistration},
		{"bad planned date", func(r *Registration) { r.DataCatalogue[0].PlannedConnection = "June" }, ErrInvalidRegistration},
		{"no commitment signer", func(r *Registration) { r.Commitment.SignerName = "" }, ErrInvalidRegistration},
		{"bad commitment date", func(r *Registration) { r.Commitment.Date = "20/02/2026" }, ErrInvalidRegistration},
		{"too many rows", func(r *Registration) {
			r.DataCatalogue = make([]DataRow, maxCatalogRows+1)
		}, ErrInvalidRegistration},
		{"empty catalogue is fine", func(r *Registration) { r.DataCatalogue = nil }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validRegistration("X")
			c.mod(&r)
			if err := r.Validate(); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestSubmitBadInput(t *testing.T) {
	a, b := newApplicant(t, "A"), newApplicant(t, "B")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := makeCSR(t, rsaKey, "weak")
	forged := append([]byte(nil), a.nodeCSR...)
	forged[len(forged)-5] ^= 0xff // inside the signature
	forgedSubject := makeCSR(t, a.nodeKey, "A")
	forgedSubject[40] ^= 0x01 // inside the signed subject
	cases := []struct {
		name string
		mod  func(c *SubmitRegistration)
		want error
	}{
		{"malformed CSR", func(c *SubmitRegistration) { c.NodeCSR = []byte("not a CSR") }, ErrBadCSR},
		{"forged CSR signature", func(c *SubmitRegistration) { c.NodeCSR = forged }, ErrBadCSR},
		{"tampered CSR body", func(c *SubmitRegistration) { c.NodeCSR = forgedSubject }, ErrBadCSR},
		{"weak key", func(c *SubmitRegistration) { c.SignCSR = weak }, ca.ErrWeakKey},
		{"oversized CSR", func(c *SubmitRegistration) { c.SignCSR = make([]byte, ca.MaxCSRSize+1) }, ca.ErrCSRTooLarge},
		{"same key twice", func(c *SubmitRegistration) { c.SignCSR = c.NodeCSR }, ErrBadCSR},
		{"bad member", func(c *SubmitRegistration) { c.Member = "GOV/A" }, ErrInvalidArgument},
		{"bad request ID", func(c *SubmitRegistration) { c.RequestID = "a/b" }, ErrInvalidArgument},
		{"bad address", func(c *SubmitRegistration) { c.NodeAddrs = []string{"http://x"} }, ErrInvalidArgument},
		{"too many addresses", func(c *SubmitRegistration) {
			c.NodeAddrs = nil
			for i := range MaxAddrs + 1 {
				c.NodeAddrs = append(c.NodeAddrs, fmt.Sprintf("/ip4/10.0.0.%d/tcp/1", i))
			}
		}, ErrInvalidArgument},
		{"top secret", func(c *SubmitRegistration) { c.Registration.HighestClassification = ClassTopSecret }, ErrClassificationRefused},
		{"derived fields are overwritten", func(c *SubmitRegistration) {
			c.PeerID, c.NodeKeySHA256 = b.peerID, "forged"
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := a.submit("req-a")
			cmd.Time = testT0
			c.mod(cmd)
			err := cmd.prepare(rand.Reader)
			if c.want == nil {
				if err != nil || cmd.PeerID != a.peerID || cmd.NodeKeySHA256 == "forged" {
					t.Fatalf("err %v, peer %s", err, cmd.PeerID)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}

	t.Run("PEM CSRs are stored as DER", func(t *testing.T) {
		cmd := a.submit("")
		cmd.NodeCSR = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: a.nodeCSR})
		if err := cmd.prepare(rand.Reader); err != nil {
			t.Fatal(err)
		}
		if string(cmd.NodeCSR) != string(a.nodeCSR) || len(cmd.RequestID) != 20 {
			t.Fatalf("CSR not normalised or no request ID (%q)", cmd.RequestID)
		}
	})
}

func TestCertDeriveRejects(t *testing.T) {
	c := newTestCA(t)
	a := newApplicant(t, "A")
	for name, cert := range map[string]Cert{
		"garbage":                {DER: []byte{0x30, 0x03, 0x02, 0x01, 0x01}},
		"signing cert as node":   {DER: c.issue(t, ca.ProfileMemberSign, a.member, a.nodeKey.Public(), nil)},
		"CA cert has no member":  {DER: c.cert.Raw},
		"empty":                  {},
		"truncated":              {DER: c.issue(t, ca.ProfileNodeAuth, a.member, a.nodeKey.Public(), nil)[:100]},
		"node cert as signature": {DER: c.issue(t, ca.ProfileNodeAuth, a.member, a.nodeKey.Public(), nil)},
	} {
		t.Run(name, func(t *testing.T) {
			profile := ca.ProfileNodeAuth
			if name == "node cert as signature" {
				profile = ca.ProfileMemberSign
			}
			if err := cert.derive(profile); !errors.Is(err, ErrBadCertificate) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestEncodeDecodeCommands(t *testing.T) {
	for typ, ct := range commandTypes {
		cmd := ct.new()
		if cmd.Type() != typ {
			t.Fatalf("%s: Type() = %d, registered as %d", ct.name, cmd.Type(), typ)
		}
		cmd.header().Actor, cmd.header().Time = "op", testT0
		b, err := EncodeCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != byte(typ) {
			t.Fatalf("%s: type byte %d", ct.name, b[0])
		}
		back, err := DecodeCommand(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, cmd) {
			t.Fatalf("%s: round trip %#v != %#v", ct.name, back, cmd)
		}
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"type only":    {byte(CmdSetPolicy)},
		"unknown type": append([]byte{200}, `{}`...),
		"bad JSON":     append([]byte{byte(CmdSetPolicy)}, `{"policy":`...),
		"wrong shape":  append([]byte{byte(CmdSetPolicy)}, `{"policy":"fast"}`...),
	} {
		if _, err := DecodeCommand(b); !errors.Is(err, ErrBadCommand) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestApproveWithCAIssuedCerts runs the admission with certificates from
// the real ca package: the CSRs of the registration go to ca.Issue, and the
// issued certificates approve it.
func TestApproveWithCAIssuedCerts(t *testing.T) {
	authority, err := ca.Init(filepath.Join(t.TempDir(), "ca"), ca.Config{Instance: testInstance}, []byte("test passphrase"),
		ca.WithLogger(testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer authority.Close()
	h := newHarness(t)
	a := newApplicant(t, "H26")
	h.must(a.submit("req-1"))
	req := h.st.Requests["req-1"]
	ctx := context.Background()
	node, err := authority.Issue(ctx, ca.IssueRequest{CSR: req.NodeCSR, Profile: ca.ProfileNodeAuth, Member: req.Member.String(), PeerID: req.PeerID})
	if err != nil {
		t.Fatal(err)
	}
	sign, err := authority.Issue(ctx, ca.IssueRequest{CSR: req.SignCSR, Profile: ca.ProfileMemberSign, Member: req.Member.String()})
	if err != nil {
		t.Fatal(err)
	}
	// The certificates arrive as PEM, as the CA's admin API returns them.
	h.must(&ApproveRegistration{Header: Header{Actor: "op"}, RequestID: "req-1",
		NodeCert: Cert{DER: []byte(node.PEM)}, SignCert: Cert{DER: []byte(sign.PEM)}})
	n := h.st.Nodes[a.peerID]
	if n.Cert.Serial != node.Serial || h.st.Members[a.member].SignCert.Serial != sign.Serial || n.Status != NodeActive {
		t.Fatalf("node %+v", n)
	}
	// Crossing them (node cert as signing cert) is refused.
	b := newApplicant(t, "H27")
	h.must(b.submit("req-2"))
	req = h.st.Requests["req-2"]
	node2, err := authority.Issue(ctx, ca.IssueRequest{CSR: req.NodeCSR, Profile: ca.ProfileNodeAuth, Member: req.Member.String()})
	if err != nil {
		t.Fatal(err)
	}
	err = h.do(&ApproveRegistration{Header: Header{Actor: "op"}, RequestID: "req-2",
		NodeCert: Cert{DER: node2.DER}, SignCert: Cert{DER: node2.DER}}, false)
	if !errors.Is(err, ErrBadCertificate) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range errorOrder {
		code := ErrorCode(fmt.Errorf("wrapped: %w", e))
		if code == "" || code == "internal" || seen[code] {
			t.Fatalf("%v: code %q", e, code)
		}
		seen[code] = true
		if ErrorForCode(code) != e {
			t.Fatalf("%s does not map back", code)
		}
	}
	if len(seen) != len(errorCodes) {
		t.Fatalf("errorOrder has %d sentinels, errorCodes %d", len(seen), len(errorCodes))
	}
	if ErrorCode(fmt.Errorf("%w: %w", ErrIndeterminate, ErrShutdown)) != "indeterminate" {
		t.Fatal("indeterminate must win")
	}
	var err error = &NotLeaderError{LeaderID: "s1", LeaderAddr: "a"}
	if !errors.Is(err, ErrNotLeader) || ErrorCode(err) != "not_leader" || ErrorCode(errors.New("x")) != "internal" {
		t.Fatal("NotLeaderError")
	}
}
