package node_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/node/delivery"
)

// TestDeliveryDeclarations: what a recipient subsystem declares in the
// global configuration (dxl registry subsystem documents) decides what
// A's node accepts for it: a member ID is delivered to the member's
// document inbox, a data type it does not take is refused before the
// content is read, and a member without an inbox is refused with what
// to do.
func TestDeliveryDeclarations(t *testing.T) {
	if testing.Short() {
		t.Skip("a fresh network whose configuration changes: full suite only")
	}
	t.Parallel()
	n := startNet(t, nil)
	a := n.client(t, true)
	b := newBSide(t, n)
	memberB := n.Member(devnet.AgencyB)
	q := func(recipient, typ string) url.Values {
		return url.Values{"recipient": {recipient}, "title": {"công văn"}, "type": {typ}}
	}
	noInbox := submit(t, n, a, q(memberB, "quyet-dinh"), []byte("x"))
	exchangeError(t, noInbox, http.StatusUnprocessableEntity, "document_unknown_recipient")
	if !strings.Contains(string(noInbox.body), "--member-inbox") {
		t.Fatalf("no hint: %s", noInbox.body)
	}
	// Any type goes while B declares nothing.
	if s := submit(t, n, a, q(b.sub, "cong-van"), []byte("x")); s.status != http.StatusAccepted {
		t.Fatalf("undeclared: %d %s", s.status, s.body)
	}

	if _, err := n.Admin.SetDocuments(n.ctx, client.SetDocumentsRequest{Subsystem: b.sub, Accepts: []string{"quyet-dinh"}, MemberInbox: true}); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B); err != nil {
		t.Fatal(err)
	}
	refused := submit(t, n, a, q(b.sub, "cong-van"), []byte("x"))
	exchangeError(t, refused, http.StatusUnprocessableEntity, "document_type_refused")
	if !strings.Contains(string(refused.body), "takes quyet-dinh") {
		t.Fatalf("refusal does not say what B takes: %s", refused.body)
	}

	// To the member: resolved to its inbox subsystem, signed so, delivered.
	sent := submit(t, n, a, q(memberB, "quyet-dinh"), []byte("quyết định"))
	var d delivery.OutDoc
	if sent.status != http.StatusAccepted || json.Unmarshal(sent.body, &d) != nil {
		t.Fatalf("to the member: %d %s", sent.status, sent.body)
	}
	if len(d.Meta.Recipients) != 1 || d.Meta.Recipients[0] != b.sub {
		t.Fatalf("recipients %v, want [%s]", d.Meta.Recipients, b.sub)
	}
	waitState(t, a, "https://"+n.A.Node.APIAddr(), d.Meta.ID, delivery.Delivered)
	var items []delivery.Item
	if l := b.do(t, "GET", "/dxl/inbox"); l.status != 200 || json.Unmarshal(l.body, &items) != nil || !hasItem(items, d.Meta.ID) {
		t.Fatalf("B's inbox: %d %s", l.status, l.body)
	}
}
