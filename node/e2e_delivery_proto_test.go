package node_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/transport"
)

// TestDeliveryProtocolRefusals speaks /dxl/deliver/1.0.0 to B's node
// from A's host with bad input: each is refused with its code, and
// nothing lands in B's inbox; a genuine offer made again is a duplicate
// answered complete without a transfer.
func TestDeliveryProtocolRefusals(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	a := n.client(t, true)
	b := newBSide(t, n)
	sub := submit(t, n, a, url.Values{"recipient": {b.sub}, "title": {"genuine"}, "type": {"x"}}, []byte("genuine content"))
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", sub.status, sub.body)
	}
	id := sub.header.Get(delivery.HeaderDocumentID)
	signed := waitState(t, a, "https://"+n.A.Node.APIAddr(), id, delivery.Delivered).Signed

	offerFrame := func(kind, recipient string, doc, receipt *delivery.Signed) []byte {
		m := map[string]any{"kind": kind}
		if recipient != "" {
			m["recipient"] = recipient
		}
		if doc != nil {
			m["document"] = doc
		}
		if receipt != nil {
			m["receipt"] = receipt
		}
		p, _ := json.Marshal(m)
		var buf bytes.Buffer
		_ = envelope.WriteFrame(&buf, envelope.FrameRequest, p)
		return buf.Bytes()
	}
	tampered := signed
	tampered.Body = bytes.Replace(signed.Body, []byte("genuine"), []byte("forged!"), 1)
	huge := make([]byte, 5)
	huge[0] = byte(envelope.FrameRequest)
	binary.BigEndian.PutUint32(huge[1:], envelope.MaxEnvelope+1)
	chunkFirst := []byte{byte(envelope.FrameBodyChunk), 0, 0, 0, 1, 'x'}

	for name, c := range map[string]struct {
		send []byte
		code string
	}{
		"chunk before offer": {chunkFirst, "document_bad_metadata"},
		"oversized frame":    {huge, "document_bad_metadata"},
		"unknown kind":       {offerFrame("gift", b.sub, &signed, nil), "document_bad_metadata"},
		"forged metadata":    {offerFrame("document", b.sub, &tampered, nil), "envelope_signature"},
		"not a recipient":    {offerFrame("document", n.Instance+"/GOV/000.00.00.B01/OTHER", &signed, nil), "document_unknown_recipient"},
		"receipt forged":     {offerFrame("receipt", "", nil, &tampered), "envelope_signature"},
		// Domain separation: a document's signature never verifies as a receipt's.
		"document as a receipt": {offerFrame("receipt", "", nil, &signed), "envelope_signature"},
	} {
		t.Run(name, func(t *testing.T) {
			f := exchangeFrames(t, n, c.send)
			if f.Type != envelope.FrameError {
				t.Fatalf("frame %d %s, want an error", f.Type, f.Payload)
			}
			if e := transport.DecodeError(f.Payload); e.Code != c.code {
				t.Fatalf("code %q (%s), want %s", e.Code, e.Message, c.code)
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		f := exchangeFrames(t, n, offerFrame("document", b.sub, &signed, nil))
		if f.Type != envelope.FrameResponse || !bytes.Contains(f.Payload, []byte(`"complete":true`)) {
			t.Fatalf("frame %d %s", f.Type, f.Payload)
		}
	})
	var items []delivery.Item
	if l := b.do(t, "GET", "/dxl/inbox?state=all"); json.Unmarshal(l.body, &items) != nil {
		t.Fatalf("inbox: %s", l.body)
	}
	for _, it := range items {
		if it.Title != "genuine" && it.ID == id {
			t.Fatalf("inbox holds %+v", it)
		}
	}
}

// exchangeFrames opens a delivery stream from A's host to B's node,
// writes raw and returns the first frame of the answer.
func exchangeFrames(t *testing.T, n *testNet, raw []byte) envelope.Frame {
	t.Helper()
	s, err := n.A.Node.Host().NewStream(n.ctx, n.B.Node.PeerID(), transport.DeliverProtocol)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.Write(raw); err != nil {
		t.Fatal(err)
	}
	f, err := envelope.ReadFrame(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
