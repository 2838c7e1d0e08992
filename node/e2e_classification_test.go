package node_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// TestEndToEndClassification: once B's demo service is reclassified
// top_secret, B's node refuses a request a consumer node signed and
// sent anyway (classification_refused, bypassing A's check), and A's node
// refuses its information system's call before sending anything: with B
// stopped, the answer is still classification_refused, not
// provider_unreachable. The registry refuses a level above the member's
// registration.
func TestEndToEndClassification(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own network: full suite only (-short skips it)")
	}
	t.Parallel()
	n := startNet(t, nil)
	c := n.client(t, true)
	if a := do(t, c, "GET", n.url("/citizens/1"), "", nil); a.status != 200 {
		t.Fatalf("internal service: %d %s", a.status, a.body)
	}
	p := newRawPeer(t, n.A)
	f, err := p.send(n.ctx, n.B, n.signedRequest(t, p, n.B).Raw)
	if err != nil || f.Type == 0 {
		t.Fatalf("raw call to an internal service: %v %+v", err, f)
	}
	sub := n.SubsystemID(devnet.AgencyB)
	code, version, _ := strings.Cut(strings.TrimPrefix(n.Service, sub+"/"), "/")
	if err := n.PublishClassified(n.ctx, sub, code, version, state.ClassTopSecret, []byte("reclassified")); err != nil {
		t.Fatalf("reclassify: %v", err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B); err != nil {
		t.Fatal(err)
	}
	f, err = p.send(n.ctx, n.B, n.signedRequest(t, p, n.B).Raw)
	wantErrorFrame(t, f, err, "classification_refused")
	exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil), 403, "classification_refused")
	n.B.Stop()
	exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil), 403, "classification_refused")

	if err := n.Network.Publish(n.ctx, sub, "open", "", []byte("default level")); err != nil {
		t.Fatalf("default level: %v", err)
	}
	if err := n.PublishClassified(n.ctx, sub, "odd", "", "confidential", []byte("x")); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("unknown level: %v", err)
	}
	low := devnet.Agency{Code: "LOW", Name: "Low agency", Subsystem: "SYS", Highest: state.ClassPublic}
	if _, err := n.Admit(n.ctx, low); err != nil {
		t.Fatal(err)
	}
	if err := n.PublishClassified(n.ctx, n.SubsystemID(low), "open", "", state.ClassPublic, []byte("x")); err != nil {
		t.Fatalf("public under a public registration: %v", err)
	}
	var ae *client.APIError
	err = n.Network.Publish(n.ctx, n.SubsystemID(low), "inner", "", []byte("x"))
	if !errors.As(err, &ae) || ae.Code != "classification_above_registration" || !errors.Is(err, state.ErrClassificationCap) {
		t.Fatalf("internal (the default) above a public registration: %v", err)
	}
}
