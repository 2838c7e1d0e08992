package node_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/envelope"
)

// bSide is agency B's information system on B's node: a bearer token and
// a client trusting B's API certificate.
type bSide struct {
	base   string
	client *http.Client
	token  string
	sub    string
}

func newBSide(t *testing.T, n *testNet) *bSide {
	t.Helper()
	sub := n.SubsystemID(devnet.AgencyB)
	cred, err := n.B.Node.Auth().Create(n.ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := n.B.Node.Auth().Issue(n.ctx, cred.KeyID, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(n.B.Dir, node.FileAPICert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(raw)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return &bSide{base: "https://" + n.B.Node.APIAddr(), client: c, token: tok.AccessToken, sub: sub}
}

func (b *bSide) do(t *testing.T, method, path string, hdr ...string) answer {
	t.Helper()
	return do(t, b.client, method, b.base+path, "", nil, append([]string{"Authorization", "Bearer " + b.token}, hdr...)...)
}

// events opens the SSE stream and returns its events.
func (b *bSide) events(t *testing.T, ctx context.Context) <-chan delivery.Event {
	t.Helper()
	return sse(t, ctx, b.client, b.base+"/dxl/events", "Authorization", "Bearer "+b.token)
}

func sse(t *testing.T, ctx context.Context, c *http.Client, u string, hdr ...string) <-chan delivery.Event {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan delivery.Event, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var e delivery.Event
				if json.Unmarshal([]byte(data), &e) == nil {
					ch <- e
				}
			}
		}
	}()
	return ch
}

// waitEvent returns the first event of type typ for document id.
func waitEvent(t *testing.T, ch <-chan delivery.Event, typ, id string) delivery.Event {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("event stream closed before %s of %s", typ, id)
			}
			if e.Type == typ && e.ID == id {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event for %s", typ, id)
		}
	}
}

// submit sends a document from A's information system.
func submit(t *testing.T, n *testNet, c *http.Client, q url.Values, body []byte, hdr ...string) answer {
	t.Helper()
	return do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/dxl/documents?"+q.Encode(), "application/pdf", body, hdr...)
}

func status(t *testing.T, c *http.Client, base, id string) delivery.OutDoc {
	t.Helper()
	a := do(t, c, "GET", base+"/dxl/documents/"+id, "", nil)
	var d delivery.OutDoc
	if a.status != 200 || json.Unmarshal(a.body, &d) != nil {
		t.Fatalf("status: %d %s", a.status, a.body)
	}
	return d
}

// waitState polls the status of id at base (A's API) until its recipient
// is in state st.
func waitState(t *testing.T, c *http.Client, base, id string, st delivery.State) delivery.OutDoc {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d := status(t, c, base, id)
		if d.Recipients[0].State == st {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s stays %s (%s), want %s", id, d.Recipients[0].State, d.Recipients[0].Reason, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// contentFiles lists a node's delivery content files.
func contentFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, node.DirDelivery))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestDeliveryEndToEnd(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	a := n.client(t, true)
	b := newBSide(t, n)
	ctx, cancel := context.WithCancel(n.ctx)
	defer cancel()
	bEvents := b.events(t, ctx)
	aEvents := sse(t, ctx, a, "https://"+n.A.Node.APIAddr()+"/dxl/events")

	content := make([]byte, 3*delivery.ChunkSize+123)
	_, _ = rand.Read(content)
	q := url.Values{"recipient": {b.sub}, "title": {"Công văn số 12/UBND"}, "type": {"cong-van"}, "priority": {"5"}}
	sub := submit(t, n, a, q, content)
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", sub.status, sub.body)
	}
	id := sub.header.Get(delivery.HeaderDocumentID)

	// B's information system is told, lists, fetches (whole and a range)
	// and acknowledges.
	ev := waitEvent(t, bEvents, "document", id)
	if ev.Sender != n.ClientA || ev.Title != "Công văn số 12/UBND" || ev.Size != int64(len(content)) {
		t.Fatalf("event %+v", ev)
	}
	var items []delivery.Item
	if l := b.do(t, "GET", "/dxl/inbox"); l.status != 200 || json.Unmarshal(l.body, &items) != nil || !hasItem(items, id) {
		t.Fatalf("inbox: %d %s", l.status, l.body)
	}
	if f := b.do(t, "GET", "/dxl/inbox/"+id); f.status != 200 || !bytes.Equal(f.body, content) ||
		f.header.Get(delivery.HeaderSender) != n.ClientA || f.header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("fetch: %d %v", f.status, f.header)
	}
	if f := b.do(t, "GET", "/dxl/inbox/"+id, "Range", "bytes=70000-70009"); f.status != http.StatusPartialContent || !bytes.Equal(f.body, content[70000:70010]) {
		t.Fatalf("range: %d %q", f.status, f.body)
	}
	ack := b.do(t, "POST", "/dxl/inbox/"+id+"/ack")
	var rv delivery.ReceiptView
	if ack.status != 200 || json.Unmarshal(ack.body, &rv) != nil || rv.Receipt.DocumentID != id || rv.Receipt.Recipient != b.sub {
		t.Fatalf("ack: %d %s", ack.status, ack.body)
	}
	if again := b.do(t, "POST", "/dxl/inbox/"+id+"/ack"); again.status != 200 || !bytes.Equal(again.body, ack.body) {
		t.Fatalf("ack again: %d %s", again.status, again.body)
	}
	if f := b.do(t, "GET", "/dxl/inbox/"+id); f.status != http.StatusConflict || f.header.Get(delivery.HeaderError) != "document_state" {
		t.Fatalf("fetch after ack: %d %s", f.status, f.body)
	}

	// A is told of the receipt, signed by B's member, and keeps it.
	waitEvent(t, aEvents, "receipt", id)
	d := status(t, a, "https://"+n.A.Node.APIAddr(), id)
	r := d.Recipients[0]
	if r.State != delivery.Acknowledged || r.Receipt == nil || !bytes.Equal(r.Receipt.Sig, rv.Signed.Sig) || !d.ContentGone {
		t.Fatalf("status after receipt: %+v", d)
	}
	if rc, err := delivery.DecodeReceipt(r.Receipt.Body); err != nil || rc.SHA256 != d.Meta.SHA256 {
		t.Fatalf("receipt %v", err)
	}
	// Both nodes count it in their metrics.
	for nd, want := range map[*node.Node]string{n.A.Node: `dxl_delivery_events_total{event="acknowledged",side="sender"}`,
		n.B.Node: `dxl_delivery_events_total{event="received",side="recipient"}`} {
		rec := httptest.NewRecorder()
		nd.Records().Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if m := rec.Body.String(); !strings.Contains(m, want) || !strings.Contains(m, "dxl_delivery_oldest_pending_seconds") {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The content is gone from both nodes (R-X8); the records stay.
	for _, dir := range []string{n.A.Dir, n.B.Dir} {
		for _, f := range contentFiles(t, dir) {
			if strings.Contains(f, id) {
				t.Errorf("%s still holds %s", dir, f)
			}
		}
	}
}

func hasItem(items []delivery.Item, id string) bool {
	for _, it := range items {
		if it.ID == id {
			return true
		}
	}
	return false
}

func TestDeliveryRefusals(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	a := n.client(t, true)
	b := newBSide(t, n)
	rcpt := b.sub
	q := func(kv ...string) url.Values {
		v := url.Values{"recipient": {rcpt}, "title": {"t"}, "type": {"x"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	t.Run("Idempotent", func(t *testing.T) {
		id := envelope.NewRequestID().String()
		first := submit(t, n, a, q("id", id), []byte("one"))
		again := submit(t, n, a, q(), []byte("one"), delivery.HeaderDocumentID, id)
		if first.status != http.StatusAccepted || again.status != http.StatusOK || again.header.Get(delivery.HeaderDocumentID) != id {
			t.Fatalf("%d then %d %s", first.status, again.status, again.body)
		}
		exchangeError(t, submit(t, n, a, q("id", id), []byte("two")), http.StatusConflict, "document_id_reused")
	})
	t.Run("UnknownRecipient", func(t *testing.T) {
		v := q()
		v.Set("recipient", n.Instance+"/GOV/NOBODY/SUB")
		exchangeError(t, submit(t, n, a, v, []byte("x")), http.StatusUnprocessableEntity, "document_unknown_recipient")
	})
	t.Run("BadMetadata", func(t *testing.T) {
		exchangeError(t, submit(t, n, a, q("priority", "11"), []byte("x")), http.StatusBadRequest, "document_bad_metadata")
		exchangeError(t, submit(t, n, a, q("id", "not-a-uuid"), []byte("x")), http.StatusBadRequest, "document_bad_metadata")
		exchangeError(t, submit(t, n, a, q("colour", "red"), []byte("x")), http.StatusBadRequest, "document_bad_metadata")
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		exchangeError(t, submit(t, n, n.client(t, false), q(), []byte("x")), http.StatusUnauthorized, "unauthenticated")
	})
	t.Run("OthersDocuments", func(t *testing.T) {
		sub := submit(t, n, a, q(), []byte("x"))
		id := sub.header.Get(delivery.HeaderDocumentID)
		// B's information system is not the sender: no status for it on
		// its own node, and A's inbox holds nothing for A.
		exchangeError(t, b.do(t, "GET", "/dxl/documents/"+id), http.StatusNotFound, "document_not_found")
		exchangeError(t, do(t, a, "POST", "https://"+n.A.Node.APIAddr()+"/dxl/inbox/"+id+"/ack", "", nil), http.StatusNotFound, "document_not_found")
		exchangeError(t, b.do(t, "GET", "/dxl/nothing"), http.StatusMethodNotAllowed, "method_not_allowed")
	})
}

// TestDeliveryResume breaks the first transfer after a few chunks: the
// second attempt starts at the offset the recipient node holds. Then,
// with the recipient's node down past the undeliverable period, the
// sender is told the document is undeliverable (R-D3).
func TestDeliveryResume(t *testing.T) {
	if testing.Short() {
		t.Skip("own network")
	}
	t.Parallel()
	const cut = 5
	var mu sync.Mutex
	var sent []int // chunk indices, in order
	broke := false
	var bDir string
	hookSrv, hooked := webhookServer(t)
	hook := node.WithDelivery(func(c *delivery.Config) {
		if c.Member.Code == devnet.AgencyA.Code {
			c.Webhooks = map[string]string{c.Member.String() + "/" + devnet.AgencyA.Subsystem: hookSrv.URL}
		}
		c.Policy.MinBackoff, c.Policy.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond
		c.Policy.Undeliverable = 2 * time.Second
		c.SendFault = func(doc string, chunk int) error {
			mu.Lock()
			defer mu.Unlock()
			if chunk == cut && !broke {
				// Cut once B's node has the first chunks on disk, so the
				// offset it reports is known.
				broke = true
				waitPartial(t, bDir, doc, cut)
				return errors.New("connection cut by the test")
			}
			sent = append(sent, chunk)
			return nil
		}
	})
	n := startNetTB(t, nil, nil, hook)
	mu.Lock()
	bDir = n.B.Dir
	mu.Unlock()
	a := n.client(t, true)
	b := newBSide(t, n)
	content := make([]byte, 12*delivery.ChunkSize+5)
	_, _ = rand.Read(content)
	sub := submit(t, n, a, url.Values{"recipient": {b.sub}, "title": {"big"}, "type": {"x"}}, content)
	if sub.status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", sub.status, sub.body)
	}
	id := sub.header.Get(delivery.HeaderDocumentID)
	d := waitState(t, a, "https://"+n.A.Node.APIAddr(), id, delivery.Delivered)
	if d.Recipients[0].Attempts != 2 {
		t.Fatalf("attempts %d", d.Recipients[0].Attempts)
	}
	mu.Lock()
	got := fmt.Sprint(sent)
	mu.Unlock()
	// 0..4 in the first attempt, then from 5 on: nothing sent twice.
	if want := fmt.Sprint([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); got != want {
		t.Fatalf("chunks sent %s, want %s", got, want)
	}
	if f := b.do(t, "GET", "/dxl/inbox/"+id); f.status != 200 || !bytes.Equal(f.body, content) {
		t.Fatalf("fetch: %d, %d bytes", f.status, len(f.body))
	}
	// A's information system also had the event POSTed, signed by its
	// member, after a first call it refused.
	ev := hooked(t, "delivered", id)
	if ev.Recipient != b.sub {
		t.Fatalf("webhook event %+v", ev)
	}

	t.Run("Undeliverable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(n.ctx)
		defer cancel()
		aEvents := sse(t, ctx, a, "https://"+n.A.Node.APIAddr()+"/dxl/events")
		n.B.Stop()
		sub := submit(t, n, a, url.Values{"recipient": {b.sub}, "title": {"late"}, "type": {"x"}}, []byte("x"))
		if sub.status != http.StatusAccepted {
			t.Fatalf("submit: %d %s", sub.status, sub.body)
		}
		id := sub.header.Get(delivery.HeaderDocumentID)
		ev := waitEvent(t, aEvents, string(delivery.Undeliverable), id)
		d := status(t, a, "https://"+n.A.Node.APIAddr(), id)
		r := d.Recipients[0]
		if r.State != delivery.Undeliverable || !strings.Contains(r.Reason, "unreachable for") || ev.Reason != r.Reason || !d.ContentGone {
			t.Fatalf("%+v, event %+v", r, ev)
		}
	})
}

// waitPartial waits until a node in dir holds chunks whole chunks of
// document id's content.
func waitPartial(t *testing.T, dir, id string, chunks int) {
	want := int64(20 + chunks*(delivery.ChunkSize+16)) // header, sealed chunks
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		names, _ := filepath.Glob(filepath.Join(dir, node.DirDelivery, "in-*-"+id))
		for _, f := range names {
			if st, err := os.Stat(f); err == nil && st.Size() >= want {
				return
			}
		}
	}
	t.Errorf("%s never held %d chunks of %s", dir, chunks, id)
}

// webhookServer is an information system's webhook endpoint: it refuses
// the first call, then keeps the events whose signature verifies
// against the certificate sent with them. hooked waits for one.
func webhookServer(t *testing.T) (*httptest.Server, func(*testing.T, string, string) delivery.Event) {
	var mu sync.Mutex
	calls := 0
	var got []delivery.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if calls++; calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sig, _ := base64.StdEncoding.DecodeString(r.Header.Get(delivery.HeaderSignature))
		der, _ := base64.StdEncoding.DecodeString(r.Header.Get(delivery.HeaderSignatureCert))
		cert, err := x509.ParseCertificate(der)
		if err != nil || cert.CheckSignature(x509.PureEd25519, append([]byte(delivery.WebhookPrefix), body...), sig) != nil {
			t.Errorf("webhook signature does not verify: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var e delivery.Event
		if json.Unmarshal(body, &e) == nil {
			got = append(got, e)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func(t *testing.T, typ, id string) delivery.Event {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			for _, e := range got {
				if e.Type == typ && e.ID == id {
					mu.Unlock()
					return e
				}
			}
			mu.Unlock()
		}
		t.Fatalf("no %s webhook for %s", typ, id)
		return delivery.Event{}
	}
}
