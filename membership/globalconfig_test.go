package membership

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// TestGlobalConfigFromState admits a member through the registry, builds
// the global configuration from the state, signs it as the registry does
// and verifies it as a node does.
func TestGlobalConfigFromState(t *testing.T) {
	c := storetest.NewCluster(t, storetest.Opts{N: 1})
	ctx := storetest.Context(t, 20*time.Second)
	leader := c.WaitLeader()
	admitted, pending := regtest.NewApplicant(t, "000.00.00.H26"), regtest.NewApplicant(t, "000.00.00.H27")
	if err := c.AdmitVia(ctx, leader, admitted, "req-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.Apply(ctx, pending.Submit("req-2")); err != nil {
		t.Fatal(err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := x509.ParseCertificate(c.CA.Issue(t, ca.ProfileRegistryConfig, regtest.Instance+"/GOV/OPERATOR", key.Public(), nil))
	if err != nil {
		t.Fatal(err)
	}
	anchor, err := globalconf.NewAnchor(regtest.Instance, c.CA.Cert, signer, []string{"https://registry.example.vn:8443"})
	if err != nil {
		t.Fatal(err)
	}
	now := regtest.T0.Add(time.Hour)
	st := leader.State()
	doc := st.GlobalConfig(now, []globalconf.RegistryServer{{ID: "r1", URL: "https://registry.example.vn:8443"}})
	signed, err := globalconf.Sign(doc, key, []*x509.Certificate{signer})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := signed.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := globalconf.Verify(raw, anchor, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != st.Version || got.Version == 0 {
		t.Fatalf("version %d, state %d", got.Version, st.Version)
	}
	if len(got.Members) != 1 || got.Members[0].ID != admitted.Member || got.Members[0].Status != ident.MemberActive {
		t.Fatalf("members %+v: want only the admitted one", got.Members)
	}
	if len(got.Nodes) != 1 || got.Nodes[0].PeerID != admitted.PeerID || got.Nodes[0].Status != ident.NodeActive {
		t.Fatalf("nodes %+v", got.Nodes)
	}
	if node := st.Nodes[admitted.PeerID]; got.Nodes[0].CertSerial != node.Cert.Serial {
		t.Fatalf("node cert serial %s, state %s", got.Nodes[0].CertSerial, node.Cert.Serial)
	}
	if !got.ExpiresAt.Equal(now.Add(time.Duration(st.Policy.ConfigValidity))) {
		t.Fatalf("expires %v", got.ExpiresAt)
	}

	// Revoking the member puts its serials in the next version.
	if _, err := leader.Apply(ctx, &state.RevokeMember{Header: state.Header{Actor: "operator"}, Member: admitted.Member, Reason: "keyCompromise"}); err != nil {
		t.Fatal(err)
	}
	next := leader.State().GlobalConfig(now, nil)
	if next.Version <= got.Version || !next.IsRevoked(got.Nodes[0].CertSerial) {
		t.Fatalf("after revocation: version %d (was %d), node serial revoked %v", next.Version, got.Version, next.IsRevoked(got.Nodes[0].CertSerial))
	}
	// The same state gives the same bytes: any server may sign it.
	a, _ := doc.Canonical()
	b, _ := st.GlobalConfig(now, []globalconf.RegistryServer{{ID: "r1", URL: "https://registry.example.vn:8443"}}).Canonical()
	if string(a) != string(b) {
		t.Fatal("GlobalConfig is not deterministic")
	}
	if _, err := globalconf.Verify(raw[:len(raw)-2], anchor, now); !errors.Is(err, globalconf.ErrMalformed) {
		t.Fatalf("truncated: %v", err)
	}
}
