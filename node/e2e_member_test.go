package node_test

import (
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
)

// TestEndToEndProviderRefusesUnregisteredClient: a request signed by A's
// node for a subsystem of A that the signed configuration does not list is
// refused by B (unknown_client) before its gate and backend.
func TestEndToEndProviderRefusesUnregisteredClient(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	p := newRawPeer(t, n.A)
	empty := [32]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}
	req, err := p.signer.SignRequest(envelope.Request{RequestID: envelope.NewRequestID(), Client: n.Member(devnet.AgencyA) + "/GHOST",
		Service: n.Service, Target: n.B.Node.PeerID().String(), Method: "GET", Path: "/citizens/9", BodySHA256: empty})
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.send(n.ctx, n.B, req.Raw)
	wantErrorFrame(t, f, err, "unknown_client")
}

// TestEndToEndClientAndProviderStatus: A's node refuses an information
// system pinned in its node.json whose subsystem is not registered
// (unknown_client); once B is suspended, calls to B's service fail as
// member_suspended, and once revoked as member_revoked.
func TestEndToEndClientAndProviderStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("suspends and revokes a member: full suite only (-short skips it)")
	}
	t.Parallel()
	cert, key, sha, err := devnet.ClientCert(t.TempDir(), "ghost")
	if err != nil {
		t.Fatal(err)
	}
	n := startNetTB(t, func(c *node.Config) {
		c.Clients = append(c.Clients, node.ClientCert{Subsystem: c.Member + "/GHOST", CertSHA256: sha})
	}, nil)
	gc, _ := n.clientOf(t, n.A, cert, key)
	exchangeError(t, do(t, gc, "GET", n.url("/citizens/1"), "", nil), 403, "unknown_client")
	c := n.client(t, true)
	if a := do(t, c, "GET", n.url("/citizens/1"), "", nil); a.status != 200 {
		t.Fatalf("registered client: %d %s", a.status, a.body)
	}

	if _, err := n.Admin.Suspend(n.ctx, n.Member(devnet.AgencyB), "test"); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A); err != nil {
		t.Fatal(err)
	}
	exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil), 403, "member_suspended")
	if _, err := n.Admin.Revoke(n.ctx, n.Member(devnet.AgencyB), "keyCompromise", "test"); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A); err != nil {
		t.Fatal(err)
	}
	exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil), 403, "member_revoked")
}
