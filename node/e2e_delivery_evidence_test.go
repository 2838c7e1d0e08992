package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
)

// TestDeliveryEvidence delivers a document from A to B and acknowledges
// it; each node's message log then holds the delivery (signed metadata,
// B's signed transport receipt, B's signed receipt; no content), its
// evidence bundle from the admin socket verifies offline with the CA root
// alone, a changed byte of the metadata or the receipt is refused, and
// the operational records count each event.
func TestDeliveryEvidence(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	a := n.client(t, true)
	b := newBSide(t, n)
	ctx, cancel := context.WithCancel(n.ctx)
	defer cancel()
	aEvents := sse(t, ctx, a, "https://"+n.A.Node.APIAddr()+"/dxl/events")

	content := make([]byte, 2*delivery.ChunkSize+77)
	_, _ = rand.Read(content)
	sub := submit(t, n, a, url.Values{"recipient": {b.sub}, "title": {"Quyết định 7"}, "type": {"cong-van"}}, content)
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", sub.status, sub.body)
	}
	id := sub.header.Get(delivery.HeaderDocumentID)
	waitState(t, a, "https://"+n.A.Node.APIAddr(), id, delivery.Delivered)
	if ack := b.do(t, "POST", "/dxl/inbox/"+id+"/ack"); ack.status != 200 {
		t.Fatalf("ack: %d %s", ack.status, ack.body)
	}
	waitEvent(t, aEvents, "receipt", id)

	want := map[*devnet.NodeHandle][]string{n.A: {"sender/submitted", "sender/stored", "sender/acknowledged"},
		n.B: {"recipient/stored", "recipient/acknowledged"}}
	for _, h := range []*devnet.NodeHandle{n.A, n.B} {
		raw := adminEvidence(t, h, url.Values{"document": {id}})
		bundle, err := msglog.ReadDeliveryBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		v, err := msglog.VerifyDeliveryBundle(bundle, n.roots(t))
		if err != nil {
			t.Fatalf("%s: %v", h.Dir, err)
		}
		var events []string
		for _, e := range v.Events {
			events = append(events, e.Role+"/"+e.Event)
		}
		if !slices.Equal(events, want[h]) || v.Sender != n.ClientA || v.Recipient != b.sub || v.Size != int64(len(content)) ||
			v.SenderMember != n.Member(devnet.AgencyA) || v.RecipientMember != n.Member(devnet.AgencyB) ||
			v.Stored.IsZero() || v.Acknowledged.IsZero() || v.StoredNode != n.B.Node.PeerID().String() {
			t.Fatalf("%s verified %+v (events %v)", h.Dir, v, events)
		}
		if bytes.Contains(raw, content[:64]) {
			t.Fatalf("%s: the bundle holds content", h.Dir)
		}
		// A changed byte of the signed metadata or of the receipt is refused.
		last := len(bundle.Records) - 1
		for what, part := range map[string]*[]byte{"metadata": &bundle.Records[0].Record.Request, "receipt": &bundle.Records[last].Record.Response} {
			(*part)[len(*part)/2] ^= 1
			if _, err := msglog.VerifyDeliveryBundle(bundle, n.roots(t)); !errors.Is(err, msglog.ErrTamper) && !errors.Is(err, msglog.ErrEvidence) {
				t.Errorf("%s: changed %s: %v", h.Dir, what, err)
			}
			(*part)[len(*part)/2] ^= 1
		}
		// A call's evidence for a document ID is refused; the chain holds.
		if _, err := h.Node.Evidence(n.ctx, id); err == nil {
			t.Errorf("%s: call evidence for a document", h.Dir)
		}
		if _, err := h.Node.MessageLog().VerifyChain(); err != nil {
			t.Fatal(err)
		}
		checkDeliveryRecords(t, h.Node, id, want[h])
	}
	if raw := adminEvidence(t, n.A, url.Values{"document": {id}, "recipient": {n.ClientA}}); raw != nil {
		t.Fatalf("evidence for a recipient the document never had: %s", raw)
	}
}

// adminEvidence asks h's admin socket for an evidence bundle; nil when
// it refuses.
func adminEvidence(t *testing.T, h *devnet.NodeHandle, q url.Values) []byte {
	t.Helper()
	resp, err := node.AdminClient(h.Dir).Get("http://node/v1/log/evidence?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		var e node.ErrorBody
		if json.Unmarshal(raw, &e) != nil || e.Code == "" {
			t.Fatalf("refusal without a code: %d %s", resp.StatusCode, raw)
		}
		return nil
	}
	return raw
}

// checkDeliveryRecords requires nd's operational records of document id
// to be exactly the events want, with the content's size and no content.
func checkDeliveryRecords(t *testing.T, nd *node.Node, id string, want []string) {
	t.Helper()
	if err := nd.Records().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, _, err := nd.Records().Query(oprec.Filter{Limit: oprec.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.RequestID == id {
			got = append(got, r.Kind())
			if r.RequestBytes == 0 || r.Client == "" {
				t.Errorf("record %+v", r)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("records of %s: %v, want %v", id, got, want)
	}
}

// TestKill9SenderDeliveryEvidence: kill -9 the sender's node right after
// it accepted documents, with pushes in flight, and restart it on the
// same data: every document it accepted and got a receipt for has its
// whole evidence in its message log (submitted, stored, acknowledged),
// verifying offline.
func TestKill9SenderDeliveryEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("a kill -9 fault test: full suite only (-short skips it)")
	}
	n := startNet(t, nil)
	base := ownAPIPort(t, n.A)
	n.A.Stop()
	child := startChild(t, n.A)
	a := n.client(t, true)
	a.Timeout = 10 * time.Second
	b := newBSide(t, n)
	waitServing(t, a, base+"/health")
	var accepted []string
	for i := 0; i < 6; i++ {
		body := make([]byte, 4*delivery.ChunkSize+i)
		_, _ = rand.Read(body)
		q := url.Values{"recipient": {b.sub}, "title": {"hồ sơ"}, "type": {"ho-so"}}
		resp, err := a.Post(base+"/dxl/documents?"+q.Encode(), "application/pdf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("submit %d: %d", i, resp.StatusCode)
		}
		accepted = append(accepted, resp.Header.Get(delivery.HeaderDocumentID))
	}
	_ = child.Process.Kill() // SIGKILL
	_ = child.Wait()
	reopened, err := node.Open(n.ctx, n.A.Dir, []byte(devnet.Passphrase), node.WithLogger(testLogger()),
		node.WithDelivery(func(c *delivery.Config) {
			c.Policy.MinBackoff, c.Policy.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	for _, id := range accepted {
		waitFor(t, func() bool { return b.do(t, "POST", "/dxl/inbox/"+id+"/ack").status == http.StatusOK })
	}
	for _, id := range accepted {
		waitState(t, a, base, id, delivery.Acknowledged)
		bundle, err := reopened.DeliveryEvidence(n.ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		v, err := msglog.VerifyDeliveryBundle(bundle, n.roots(t))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		var events []string
		for _, e := range v.Events {
			events = append(events, e.Event)
		}
		if !slices.Equal(events, []string{"submitted", "stored", "acknowledged"}) {
			t.Errorf("%s: the sender's evidence after the kill holds %v", id, events)
		}
	}
	if _, err := reopened.MessageLog().VerifyChain(); err != nil {
		t.Fatal(err)
	}
}
