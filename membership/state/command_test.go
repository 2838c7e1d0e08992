package state_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

func TestRegistrationValidate(t *testing.T) {
	cases := []struct {
		name string
		mod  func(r *state.Registration)
		want error
	}{
		{"valid", func(r *state.Registration) {}, nil},
		{"no unit name", func(r *state.Registration) { r.Unit.Name = "" }, state.ErrInvalidRegistration},
		{"control character", func(r *state.Registration) { r.Unit.Address = "line1\nline2" }, state.ErrInvalidRegistration},
		{"long name", func(r *state.Registration) { r.Representative.Name = strings.Repeat("x", 300) }, state.ErrInvalidRegistration},
		{"bad email", func(r *state.Registration) { r.TechnicalContact.Email = "Tran <it@x.vn>" }, state.ErrInvalidRegistration},
		{"bad phone", func(r *state.Registration) { r.TechnicalContact.Phone = "call me" }, state.ErrInvalidRegistration},
		{"bad system code", func(r *state.Registration) { r.System.Code = "a b" }, state.ErrInvalidRegistration},
		{"security level 0", func(r *state.Registration) { r.SecurityLevel = 0 }, state.ErrInvalidRegistration},
		{"security level 6", func(r *state.Registration) { r.SecurityLevel = 6 }, state.ErrInvalidRegistration},
		{"no approval document", func(r *state.Registration) { r.SecurityApprovalDoc = "" }, state.ErrInvalidRegistration},
		{"top secret", func(r *state.Registration) { r.HighestClassification = state.ClassTopSecret }, state.ErrClassificationRefused},
		{"top secret row", func(r *state.Registration) { r.DataCatalogue[0].Classification = state.ClassTopSecret }, state.ErrClassificationRefused},
		{"unknown classification", func(r *state.Registration) { r.HighestClassification = "confidential" }, state.ErrInvalidRegistration},
		{"row above highest", func(r *state.Registration) { r.DataCatalogue[0].Classification = state.ClassSecret }, state.ErrInvalidRegistration},
		{"bad method", func(r *state.Registration) { r.DataCatalogue[0].Method = "ftp" }, state.ErrInvalidRegistration},
		{"bad planned date", func(r *state.Registration) { r.DataCatalogue[0].PlannedConnection = "June" }, state.ErrInvalidRegistration},
		{"no commitment signer", func(r *state.Registration) { r.Commitment.SignerName = "" }, state.ErrInvalidRegistration},
		{"bad commitment date", func(r *state.Registration) { r.Commitment.Date = "20/02/2026" }, state.ErrInvalidRegistration},
		{"too many rows", func(r *state.Registration) {
			r.DataCatalogue = make([]state.DataRow, state.MaxCatalogRows+1)
		}, state.ErrInvalidRegistration},
		{"empty catalogue is fine", func(r *state.Registration) { r.DataCatalogue = nil }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := regtest.ValidRegistration("X")
			c.mod(&r)
			if err := r.Validate(); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestSubmitBadInput(t *testing.T) {
	a, b := regtest.NewApplicant(t, "A"), regtest.NewApplicant(t, "B")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := regtest.MakeCSR(t, rsaKey, "weak")
	forged := append([]byte(nil), a.NodeCSR...)
	forged[len(forged)-5] ^= 0xff // inside the signature
	forgedSubject := regtest.MakeCSR(t, a.NodeKey, "A")
	forgedSubject[40] ^= 0x01 // inside the signed subject
	cases := []struct {
		name string
		mod  func(c *state.SubmitRegistration)
		want error
	}{
		{"malformed CSR", func(c *state.SubmitRegistration) { c.NodeCSR = []byte("not a CSR") }, state.ErrBadCSR},
		{"forged CSR signature", func(c *state.SubmitRegistration) { c.NodeCSR = forged }, state.ErrBadCSR},
		{"tampered CSR body", func(c *state.SubmitRegistration) { c.NodeCSR = forgedSubject }, state.ErrBadCSR},
		{"weak key", func(c *state.SubmitRegistration) { c.SignCSR = weak }, ca.ErrWeakKey},
		{"oversized CSR", func(c *state.SubmitRegistration) { c.SignCSR = make([]byte, ca.MaxCSRSize+1) }, ca.ErrCSRTooLarge},
		{"same key twice", func(c *state.SubmitRegistration) { c.SignCSR = c.NodeCSR }, state.ErrBadCSR},
		{"bad member", func(c *state.SubmitRegistration) { c.Member = "GOV/A" }, state.ErrInvalidArgument},
		{"bad request ID", func(c *state.SubmitRegistration) { c.RequestID = "a/b" }, state.ErrInvalidArgument},
		{"bad address", func(c *state.SubmitRegistration) { c.NodeAddrs = []string{"http://x"} }, state.ErrInvalidArgument},
		{"too many addresses", func(c *state.SubmitRegistration) {
			c.NodeAddrs = nil
			for i := range state.MaxAddrs + 1 {
				c.NodeAddrs = append(c.NodeAddrs, fmt.Sprintf("/ip4/10.0.0.%d/tcp/1", i))
			}
		}, state.ErrInvalidArgument},
		{"top secret", func(c *state.SubmitRegistration) { c.Registration.HighestClassification = state.ClassTopSecret }, state.ErrClassificationRefused},
		{"derived fields are overwritten", func(c *state.SubmitRegistration) {
			c.PeerID, c.NodeKeySHA256 = b.PeerID, "forged"
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := a.Submit("req-a")
			cmd.Time = regtest.T0
			c.mod(cmd)
			err := cmd.Prepare(rand.Reader)
			if c.want == nil {
				if err != nil || cmd.PeerID != a.PeerID || cmd.NodeKeySHA256 == "forged" {
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
		cmd := a.Submit("")
		cmd.NodeCSR = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: a.NodeCSR})
		if err := cmd.Prepare(rand.Reader); err != nil {
			t.Fatal(err)
		}
		if string(cmd.NodeCSR) != string(a.NodeCSR) || len(cmd.RequestID) != 20 {
			t.Fatalf("CSR not normalised or no request ID (%q)", cmd.RequestID)
		}
	})
}

func TestCertDeriveRejects(t *testing.T) {
	c := regtest.NewCA(t)
	a := regtest.NewApplicant(t, "A")
	for name, cert := range map[string]state.Cert{
		"garbage":                {DER: []byte{0x30, 0x03, 0x02, 0x01, 0x01}},
		"signing cert as node":   {DER: c.Issue(t, ca.ProfileMemberSign, a.Member, a.NodeKey.Public(), nil)},
		"CA cert has no member":  {DER: c.Cert.Raw},
		"empty":                  {},
		"truncated":              {DER: c.Issue(t, ca.ProfileNodeAuth, a.Member, a.NodeKey.Public(), nil)[:100]},
		"node cert as signature": {DER: c.Issue(t, ca.ProfileNodeAuth, a.Member, a.NodeKey.Public(), nil)},
	} {
		t.Run(name, func(t *testing.T) {
			profile := ca.ProfileNodeAuth
			if name == "node cert as signature" {
				profile = ca.ProfileMemberSign
			}
			if err := cert.DeriveForTest(profile); !errors.Is(err, state.ErrBadCertificate) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestEncodeDecodeCommands(t *testing.T) {
	for typ, ct := range state.CommandTypesForTest() {
		cmd := ct.New()
		if cmd.Type() != typ {
			t.Fatalf("%s: Type() = %d, registered as %d", ct.Name, cmd.Type(), typ)
		}
		cmd.CommandHeader().Actor, cmd.CommandHeader().Time = "op", regtest.T0
		b, err := state.EncodeCommand(cmd)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != byte(typ) {
			t.Fatalf("%s: type byte %d", ct.Name, b[0])
		}
		back, err := state.DecodeCommand(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, cmd) {
			t.Fatalf("%s: round trip %#v != %#v", ct.Name, back, cmd)
		}
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"type only":    {byte(state.CmdSetPolicy)},
		"unknown type": append([]byte{200}, `{}`...),
		"bad JSON":     append([]byte{byte(state.CmdSetPolicy)}, `{"policy":`...),
		"wrong shape":  append([]byte{byte(state.CmdSetPolicy)}, `{"policy":"fast"}`...),
	} {
		if _, err := state.DecodeCommand(b); !errors.Is(err, state.ErrBadCommand) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// TestApproveWithCAIssuedCerts runs the admission with certificates from
// the real ca package: the CSRs of the registration go to ca.Issue, and the
// issued certificates approve it.
func TestApproveWithCAIssuedCerts(t *testing.T) {
	authority, err := ca.Init(filepath.Join(t.TempDir(), "ca"), ca.Config{Instance: regtest.Instance}, []byte("test passphrase"),
		ca.WithLogger(regtest.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	defer authority.Close()
	h := regtest.NewHarness(t)
	a := regtest.NewApplicant(t, "H26")
	h.Must(a.Submit("req-1"))
	req := h.St.Requests["req-1"]
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
	h.Must(&state.ApproveRegistration{Header: state.Header{Actor: "op"}, RequestID: "req-1",
		NodeCert: state.Cert{DER: []byte(node.PEM)}, SignCert: state.Cert{DER: []byte(sign.PEM)}})
	n := h.St.Nodes[a.PeerID]
	if n.Cert.Serial != node.Serial || h.St.Members[a.Member].SignCert.Serial != sign.Serial || n.Status != ident.NodeActive {
		t.Fatalf("node %+v", n)
	}
	// Crossing them (node cert as signing cert) is refused.
	b := regtest.NewApplicant(t, "H27")
	h.Must(b.Submit("req-2"))
	req = h.St.Requests["req-2"]
	node2, err := authority.Issue(ctx, ca.IssueRequest{CSR: req.NodeCSR, Profile: ca.ProfileNodeAuth, Member: req.Member.String()})
	if err != nil {
		t.Fatal(err)
	}
	err = h.Do(&state.ApproveRegistration{Header: state.Header{Actor: "op"}, RequestID: "req-2",
		NodeCert: state.Cert{DER: node2.DER}, SignCert: state.Cert{DER: node2.DER}}, false)
	if !errors.Is(err, state.ErrBadCertificate) {
		t.Fatalf("got %v", err)
	}
}

func TestErrorCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, code := range state.Codes.Codes() {
		e := state.Codes.Sentinel(code)
		if got := state.Codes.Code(fmt.Errorf("wrapped: %w", e)); got != code || seen[code] {
			t.Fatalf("%v: code %q, want %q", e, got, code)
		}
		seen[code] = true
	}
	for err, status := range map[error]int{
		state.ErrUnknownMember: http.StatusNotFound, state.ErrNotLeader: http.StatusServiceUnavailable,
		state.ErrTooLarge: http.StatusRequestEntityTooLarge, state.ErrDuplicateMember: http.StatusConflict,
		state.ErrJoinTokenUsed: http.StatusUnauthorized, state.ErrForbidden: http.StatusForbidden,
		state.ErrBadCSR: http.StatusBadRequest, state.ErrHistoryChain: http.StatusInternalServerError,
	} {
		if got := state.Codes.Status(err); got != status {
			t.Errorf("status of %v = %d, want %d", err, got, status)
		}
	}
	if state.Codes.Code(fmt.Errorf("%w: %w", state.ErrIndeterminate, state.ErrShutdown)) != "indeterminate" {
		t.Fatal("indeterminate must win")
	}
	var err error = &state.NotLeaderError{LeaderID: "s1", LeaderAddr: "a"}
	if !errors.Is(err, state.ErrNotLeader) || state.Codes.Code(err) != "not_leader" || state.Codes.Code(errors.New("x")) != "internal" {
		t.Fatal("NotLeaderError")
	}
}
