package node

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/services"
)

// Files of asynchronous delivery: its database and the directory of the
// encrypted content it holds while documents are queued or waiting.
const (
	FileDeliveryDB = "delivery.db"
	DirDelivery    = "delivery"
)

// DeliveryConfig configures asynchronous document delivery
// (docs/delivery.md); zero values take node/delivery's defaults.
type DeliveryConfig struct {
	// MaxSize caps a document's content (bytes, default 4 GiB).
	MaxSize int64 `json:"max_size,omitempty"`
	// UndeliverableAfter is how long a recipient may stay unreachable,
	// from the first attempt, before the sender is told the document is
	// undeliverable to it (default 72h; R-D3).
	UndeliverableAfter Duration `json:"undeliverable_after,omitempty"`
	// MinBackoff and MaxBackoff bound the wait between attempts (default
	// 1s doubling up to 5m, with jitter).
	MinBackoff Duration `json:"min_backoff,omitempty"`
	MaxBackoff Duration `json:"max_backoff,omitempty"`
	// Workers is how many documents are pushed at once (default 32; receipts as many).
	Workers int `json:"workers,omitempty"`
	// Webhooks POST an information system's delivery events, signed by
	// the member, to a URL of its own (docs/delivery.md).
	Webhooks []Webhook `json:"webhooks,omitempty"`
}

// Webhook is one information system's webhook.
type Webhook struct {
	Subsystem string `json:"subsystem"`
	URL       string `json:"url"`
}

func (c DeliveryConfig) validate() error {
	if c.MaxSize < 0 || c.UndeliverableAfter < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0 || c.Workers < 0 {
		return fmt.Errorf("%w: delivery: negative value", ErrConfig)
	}
	seen := map[string]bool{}
	for _, w := range c.Webhooks {
		if _, err := services.ParseSubsystemID(w.Subsystem); err != nil || seen[w.Subsystem] {
			return fmt.Errorf("%w: delivery.webhooks: subsystem %q invalid or listed twice", ErrConfig, w.Subsystem)
		}
		seen[w.Subsystem] = true
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: delivery.webhooks: %q is not an http(s) URL", ErrConfig, w.URL)
		}
	}
	return nil
}

// WithDelivery edits the delivery configuration after node.json's (tests:
// delivery.Config.SendFault, short backoffs).
func WithDelivery(f func(*delivery.Config)) Option {
	return func(o *options) { o.deliv = append(o.deliv, f) }
}

// openDelivery opens the outbox and inbox. Content is encrypted with a
// key derived from the node's sealed archive seed (keys.go).
func (n *Node) openDelivery(passphrase []byte, o *options) error {
	archive, _, err := logKeys(n.dir, passphrase)
	if err != nil {
		return err
	}
	key, err := hkdf.Key(sha256.New, archive, nil, "DXL-DELIVERY-CONTENT-v1", 32)
	if err != nil {
		return err
	}
	store, err := delivery.OpenStore(filepath.Join(n.dir, FileDeliveryDB), filepath.Join(n.dir, DirDelivery), key)
	if err != nil {
		return fmt.Errorf("%w: delivery: %v", ErrConfig, err)
	}
	dc := n.cfg.Delivery
	cfg := delivery.Config{Member: n.member, Self: n.self, Store: store, Views: views{n}, Signer: n.signer,
		Dialer: dialer{n}, Auth: deliveryAuth{n}, MaxSize: dc.MaxSize, Workers: dc.Workers,
		Policy: delivery.Policy{MinBackoff: time.Duration(dc.MinBackoff), MaxBackoff: time.Duration(dc.MaxBackoff),
			Undeliverable: time.Duration(dc.UndeliverableAfter)},
		Metrics: n.deliveryMetrics(), Recorder: deliveryRecorder{n}, Now: n.now, Logger: o.log}
	cfg.Webhooks = map[string]string{}
	for _, w := range dc.Webhooks {
		cfg.Webhooks[w.Subsystem] = w.URL
	}
	for _, f := range o.deliv {
		f(&cfg)
	}
	if n.deliv, err = delivery.New(cfg); err != nil {
		_ = store.Close()
		return fmt.Errorf("%w: delivery: %v", ErrConfig, err)
	}
	return nil
}

// deliveryMetrics are the delivery metrics of the node's registry.
func (n *Node) deliveryMetrics() *delivery.Metrics {
	if n.delivm == nil {
		n.delivm = delivery.NewMetrics()
	}
	return n.delivm
}

// Delivery is the node's document delivery (outbox, inbox).
func (n *Node) Delivery() *delivery.Service { return n.deliv }

// deliveryAuth authenticates the information systems of the delivery
// endpoints as the consumer API does its calls.
type deliveryAuth struct{ n *Node }

func (a deliveryAuth) Authenticate(r *http.Request) (services.SubsystemID, error) {
	return a.n.cons.Authenticate(r)
}

// apiHandler is the information systems' HTTPS API: delivery under /dxl/
// (no X-Road or LGSP route starts so), calls and the rest in consumer.
func (n *Node) apiHandler() http.Handler {
	calls, docs := n.cons.Handler(), n.cons.CheckIP(n.deliv.Handler())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/dxl/") {
			docs.ServeHTTP(w, r)
			return
		}
		calls.ServeHTTP(w, r)
	})
}

// deliveryRecorder writes delivery events to the node's message log (the
// signed statements: submitted, stored, acknowledged) and operational
// records (every event), as calls are: appended, then one wait for the
// journal shared with concurrent calls (exchange.Logs.Commit).
type deliveryRecorder struct{ n *Node }

func (d deliveryRecorder) Record(ctx context.Context, e *delivery.LogEntry) {
	logs := d.n.logs
	logged := false
	if e.Signed != nil && (e.Event == delivery.EventSubmitted || e.Statement != nil) {
		r := msglog.Record{Role: e.Side, Event: e.Event, RequestID: e.Meta.ID, Client: e.Meta.Sender, Service: e.Recipient,
			ConsumerPeer: e.SenderNode, ProviderPeer: e.RecvNode, Request: msglog.EncodeSigned(e.Signed.Body, e.Signed.Cert, e.Signed.Sig)}
		if e.Statement != nil {
			r.Response = msglog.EncodeSigned(e.Statement.Body, e.Statement.Cert, e.Statement.Sig)
		}
		if err := logs.Log.Append(r, nil); err != nil {
			d.n.log.Error("message log append failed", "document_id", e.Meta.ID, "event", e.Event, "error", err)
		} else {
			logged = true
		}
	}
	now := d.n.now()
	logs.Records.Add(oprec.Record{RequestID: e.Meta.ID, Start: now, Duration: now.Sub(e.Meta.Created), Role: e.Side,
		Event: e.Event, Client: e.Meta.Sender, Service: e.Recipient, ErrorCode: endCode(e.Event),
		RequestBytes: e.Meta.Size, ConsumerPeer: e.SenderNode, ProviderPeer: e.RecvNode})
	if !logged { // an end without a signed statement: the records alone, not waited for
		return
	}
	if err := errors.Join(logs.Log.Durable(ctx), logs.Records.Durable(ctx)); err != nil {
		d.n.log.Error("delivery records not on disk before the answer", "document_id", e.Meta.ID, "event", e.Event, "error", err)
	}
}

// endCode is the error code of a delivery that ended without the
// document (its reason stays in the outbox and the sender's events).
func endCode(event string) string {
	if event == delivery.EventUndeliverable || event == delivery.EventExpired {
		return "document_" + event
	}
	return ""
}
