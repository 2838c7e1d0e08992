package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/node/envelope"
)

// Evidence and operational records of deliveries (docs/delivery.md,
// "Evidence"): the Service tells its Recorder of every event, the node
// writes it to its message log (signed metadata, transport receipt,
// receipt; never content) and its operational records.

// StoredPrefix is the signature prefix of a transport receipt.
const StoredPrefix = "DXL-DELIVERY-STORED-v1\x00"

// Stored is the transport receipt a recipient node signs, with its
// member's key, once it holds a document's whole content in its inbox:
// the answer "stored" to the sender's node.
type Stored struct {
	DocumentID string    `json:"document_id"`
	Sender     string    `json:"sender"`
	Recipient  string    `json:"recipient"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Received   time.Time `json:"received"`
	Node       string    `json:"node"` // the recipient node's peer ID
}

// Sides and events of a LogEntry.
const (
	SideSender    = "sender"
	SideRecipient = "recipient"

	EventSubmitted     = "submitted"
	EventStored        = "stored"
	EventAcknowledged  = "acknowledged"
	EventUndeliverable = "undeliverable"
	EventExpired       = "expired"
)

// LogEntry is one delivery event for the node's logs: metadata, parties
// and signed statements, never content.
type LogEntry struct {
	Side, Event string
	Meta        *Meta
	Signed      *Signed // the signed metadata
	Statement   *Signed // the transport receipt (stored) or receipt (acknowledged)
	Recipient   string  // "" for submitted: every recipient of Meta
	SenderNode  string
	RecvNode    string
	Reason      string // undeliverable, expired: why
}

// Recorder keeps delivery events (node/delivery.go: the message log and
// the operational records). Record appends without waiting for the disk
// and then waits, at most until ctx ends, until the entry is as durable
// as the node's journal makes it (shared with concurrent calls, as a
// call's records are).
type Recorder interface {
	Record(ctx context.Context, e *LogEntry)
}

// record hands e to the Recorder, if any, before the answer it precedes.
func (s *Service) record(e *LogEntry) {
	if s.cfg.Recorder == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Idle)
	defer cancel()
	s.cfg.Recorder.Record(ctx, e)
}

// logSubmitted records a document newly accepted from its sender.
func (s *Service) logSubmitted(d *OutDoc) {
	s.record(&LogEntry{Side: SideSender, Event: EventSubmitted, Meta: &d.Meta, Signed: &d.Signed, SenderNode: s.cfg.Self})
}

// logEnded records the end of recipient r's delivery without it
// (undeliverable, expired).
func (s *Service) logEnded(d *OutDoc, r *Recipient) {
	s.record(&LogEntry{Side: SideSender, Event: string(r.State), Meta: &d.Meta, Recipient: r.ID, SenderNode: s.cfg.Self, Reason: r.Reason})
}

// writeStored answers the sender's node that d is stored in this node's
// inbox: complete, with its transport receipt signed by this member,
// recorded first (again for a duplicate offer: the evidence keeps the
// first of each event).
func (s *Service) writeStored(w io.Writer, d *InDoc) error {
	body, err := json.Marshal(Stored{DocumentID: d.Meta.ID, Sender: d.Meta.Sender, Recipient: d.Recipient, SHA256: d.Meta.SHA256,
		Size: d.Meta.Size, Received: d.Received.UTC(), Node: s.cfg.Self})
	if err != nil {
		return err
	}
	sig, cert, err := s.cfg.Signer.SignDetached(StoredPrefix, body)
	if err != nil {
		return err
	}
	st := &Signed{Body: body, Cert: cert, Sig: sig}
	s.record(&LogEntry{Side: SideRecipient, Event: EventStored, Meta: &d.Meta, Signed: &d.Signed, Statement: st,
		Recipient: d.Recipient, SenderNode: d.SenderNode, RecvNode: s.cfg.Self})
	return writeJSON(w, envelope.FrameResponse, answer{Offset: d.Meta.Size, Complete: true, Stored: st})
}

// checkStored verifies the transport receipt of a complete answer from
// node pid for doc to recipient (signed by the recipient's member, for
// this document as sent) and records it.
func (s *Service) checkStored(doc *OutDoc, recipient string, pid peer.ID, a *answer) error {
	v, err := s.cfg.Views.Current()
	if err != nil {
		return err
	}
	if a.Stored == nil {
		return fmt.Errorf("%w: the recipient node confirmed %s without a signed transport receipt", ErrBadReceipt, doc.Meta.ID)
	}
	info, err := envelope.VerifyDetached(v.Certs(), v.Doc().IsRevoked, a.Stored.Cert, StoredPrefix, a.Stored.Body, a.Stored.Sig, s.cfg.Now())
	if err != nil {
		return fmt.Errorf("%w: transport receipt: %w", ErrBadReceipt, err)
	}
	var st Stored
	if err := json.Unmarshal(a.Stored.Body, &st); err != nil {
		return fmt.Errorf("%w: transport receipt: %v", ErrBadReceipt, err)
	}
	if info.Member.String() != memberOf(recipient) || st.DocumentID != doc.Meta.ID || st.Recipient != recipient ||
		st.Sender != doc.Meta.Sender || st.SHA256 != doc.Meta.SHA256 || st.Size != doc.Meta.Size {
		return fmt.Errorf("%w: transport receipt of %s does not match the document as sent", ErrBadReceipt, doc.Meta.ID)
	}
	s.record(&LogEntry{Side: SideSender, Event: EventStored, Meta: &doc.Meta, Signed: &doc.Signed, Statement: a.Stored,
		Recipient: recipient, SenderNode: s.cfg.Self, RecvNode: pid.String()})
	return nil
}

// logAcked records the receipt this member signed for d.
func (s *Service) logAcked(d *InDoc) {
	s.record(&LogEntry{Side: SideRecipient, Event: EventAcknowledged, Meta: &d.Meta, Signed: &d.Signed, Statement: d.Receipt,
		Recipient: d.Recipient, SenderNode: d.SenderNode, RecvNode: s.cfg.Self})
}

// logReceipt records a recipient's receipt for doc, arrived from pid.
func (s *Service) logReceipt(doc *OutDoc, rc *Receipt, sr *Signed, pid peer.ID) {
	s.record(&LogEntry{Side: SideSender, Event: EventAcknowledged, Meta: &doc.Meta, Signed: &doc.Signed, Statement: sr,
		Recipient: rc.Recipient, SenderNode: s.cfg.Self, RecvNode: pid.String()})
}
