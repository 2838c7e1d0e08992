package node_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/delivery"
)

// TestKill9SenderDeliveryOnce: kill -9 the sender's node while the
// documents it accepted are being pushed, restart it on the same data:
// every accepted document reaches the recipient's inbox exactly once,
// every acknowledgment brings back one receipt, and the outbox drains.
func TestKill9SenderDeliveryOnce(t *testing.T) {
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

	// Documents of a few chunks each, accepted one after the other; the
	// kill comes right after the last answer, with pushes in flight.
	var accepted []string
	content := map[string][]byte{}
	for i := 0; i < 12; i++ {
		body := make([]byte, 8*delivery.ChunkSize+i)
		_, _ = rand.Read(body)
		q := url.Values{"recipient": {b.sub}, "title": {"hồ sơ"}, "type": {"ho-so"}, "priority": {string(rune('0' + i%10))}}
		req, _ := http.NewRequest("POST", base+"/dxl/documents?"+q.Encode(), bytes.NewReader(body))
		resp, err := a.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("submit %d: %d", i, resp.StatusCode)
		}
		id := resp.Header.Get(delivery.HeaderDocumentID)
		accepted = append(accepted, id)
		content[id] = body
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
	if open, err := reopened.Delivery().Store().Active(); err == nil {
		states := map[delivery.State]int{}
		for _, d := range open {
			states[d.Recipients[0].State]++
		}
		t.Logf("after the kill, of %d accepted documents: %v", len(accepted), states)
	}

	// Each accepted document is in B's inbox once, whole.
	waitFor(t, func() bool {
		var items []delivery.Item
		l := b.do(t, "GET", "/dxl/inbox")
		return json.Unmarshal(l.body, &items) == nil && len(items) >= len(accepted)
	})
	var items []delivery.Item
	if l := b.do(t, "GET", "/dxl/inbox"); json.Unmarshal(l.body, &items) != nil || len(items) != len(accepted) {
		t.Fatalf("inbox holds %d items for %d accepted documents", len(items), len(accepted))
	}
	seen := map[string]int{}
	for _, it := range items {
		seen[it.ID]++
	}
	for _, id := range accepted {
		if seen[id] != 1 {
			t.Fatalf("%s in the inbox %d times", id, seen[id])
		}
		if f := b.do(t, "GET", "/dxl/inbox/"+id); !bytes.Equal(f.body, content[id]) {
			t.Fatalf("%s: content differs (%d)", id, f.status)
		}
		if ack := b.do(t, "POST", "/dxl/inbox/"+id+"/ack"); ack.status != 200 {
			t.Fatalf("ack %s: %d %s", id, ack.status, ack.body)
		}
	}
	// One receipt per acknowledgment at the sender; its outbox drains.
	for _, id := range accepted {
		d := waitState(t, a, base, id, delivery.Acknowledged)
		if d.Recipients[0].Receipt == nil || !d.ContentGone {
			t.Fatalf("%s: %+v", id, d.Recipients[0])
		}
	}
	active, err := reopened.Delivery().Store().Active()
	if err != nil || len(active) != 0 {
		t.Fatalf("outbox still has %d open deliveries: %v", len(active), err)
	}
}

// waitFor polls ok for up to a minute.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in a minute")
		}
	}
}
