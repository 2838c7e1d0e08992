package msglog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/dxl-network/dxl/internal/jsonin"
)

// DeliveryPrefix is the domain-separation prefix of a delivery record's
// hash (doc.go, "Delivery records").
const DeliveryPrefix = "DXL-MSGLOG-DELIVERY-v1\x00"

// Events of a delivery record.
const (
	EventSubmitted    = "submitted"    // sender: the document was accepted; Request is its signed metadata
	EventStored       = "stored"       // the recipient node stored it; Response is its signed transport receipt
	EventAcknowledged = "acknowledged" // the recipient acknowledged it; Response is its signed receipt
)

// Detached-signature prefixes of what a delivery record holds; they are
// node/delivery's (the sender member signs the metadata, the recipient
// member the transport receipt and the receipt).
const (
	DocumentPrefix = "DXL-DELIVERY-DOCUMENT-v1\x00"
	StoredPrefix   = "DXL-DELIVERY-STORED-v1\x00"
	ReceiptPrefix  = "DXL-DELIVERY-RECEIPT-v1\x00"
)

// Signed is the form of a signed statement in a delivery record's
// Request or Response: JSON {"body","cert","sig"} (base64), as
// node/delivery keeps it. The signature covers prefix || body.
type Signed struct {
	Body []byte `json:"body"`
	Cert []byte `json:"cert"`
	Sig  []byte `json:"sig"`
}

// EncodeSigned is the bytes of a signed statement in a delivery record.
func EncodeSigned(body, cert, sig []byte) []byte {
	b, _ := json.Marshal(Signed{Body: body, Cert: cert, Sig: sig}) // cannot fail
	return b
}

// DecodeSigned reads a signed statement of a delivery record strictly.
func DecodeSigned(b []byte) (*Signed, error) {
	var s Signed
	if err := jsonin.Decode(bytes.NewReader(b), &s); err != nil {
		return nil, err
	}
	if len(s.Body) == 0 || len(s.Cert) == 0 || len(s.Sig) == 0 {
		return nil, fmt.Errorf("body, certificate and signature are required")
	}
	return &s, nil
}

// IsDelivery reports whether r is a delivery record (role sender or
// recipient) rather than a call's.
func (r *Record) IsDelivery() bool { return r.Role == RoleSender || r.Role == RoleRecipient }

// checkKind checks role, event and the parts each kind of record holds.
func (r *Record) checkKind() error {
	switch r.Role {
	case RoleConsumer, RoleProvider:
		if r.Event != "" {
			return fmt.Errorf("event %.16q on a call record", r.Event)
		}
		return nil
	case RoleSender:
		if r.Event != EventSubmitted && r.Event != EventStored && r.Event != EventAcknowledged {
			return fmt.Errorf("event %.16q of a sender", r.Event)
		}
	case RoleRecipient:
		if r.Event != EventStored && r.Event != EventAcknowledged {
			return fmt.Errorf("event %.16q of a recipient", r.Event)
		}
	default:
		return fmt.Errorf("role %.16q", r.Role)
	}
	if r.Status != 0 || (r.Event == EventSubmitted) != (len(r.Response) == 0) {
		return fmt.Errorf("a %s record holds a signed statement as response exactly when not submitted, and no status", r.Event)
	}
	return nil
}

// DeliveryBundleFormat is the format of a delivery's evidence bundle.
const DeliveryBundleFormat = 2

// MaxDeliveryRecords caps the records of a delivery bundle.
const MaxDeliveryRecords = 16

// DeliveryBundle is the offline evidence of one document's delivery to
// one recipient, as one node logged it (doc.go, "Evidence bundle"):
// every record of it, each with its stamp. Write it with Marshal;
// ReadDeliveryBundle accepts only that form.
type DeliveryBundle struct {
	Format     int       `json:"format"` // DeliveryBundleFormat
	DocumentID string    `json:"document_id"`
	Recipient  string    `json:"recipient"`
	Records    []Stamped `json:"records"`  // in Seq order
	CAChain    [][]byte  `json:"ca_chain"` // DER, issuing CA first, root last
}

// Marshal returns the canonical file form of b: indented JSON (two
// spaces) and a final newline.
func (b *DeliveryBundle) Marshal() ([]byte, error) { return canonicalJSON(b) }

// ReadDeliveryBundle parses a delivery bundle as strictly as ReadBundle
// a call's.
func ReadDeliveryBundle(data []byte) (*DeliveryBundle, error) {
	var b DeliveryBundle
	if err := readCanonical(data, &b, func() int { return b.Format }, DeliveryBundleFormat); err != nil {
		return nil, err
	}
	return &b, nil
}

// BundleFormatOf returns the format number of a bundle file (1: a call,
// DeliveryBundleFormat: a delivery) without checking anything else.
func BundleFormatOf(data []byte) (int, error) {
	var f struct {
		Format int `json:"format"`
	}
	if len(data) > MaxBundle || json.Unmarshal(data, &f) != nil {
		return 0, fmt.Errorf("%w: not a bundle", ErrMalformed)
	}
	return f.Format, nil
}

// DeliveryEvidence builds the bundle of document documentID's delivery
// to recipient from this log: its submitted record, if this node sent
// it, and the records of that recipient, the first of each role and
// event, stamped first if needed.
// recipient "" is the document's only recipient in the log.
func (l *Log) DeliveryEvidence(ctx context.Context, documentID, recipient string, caChain [][]byte) (*DeliveryBundle, error) {
	chain, err := copyChain(caChain)
	if err != nil {
		return nil, err
	}
	if err := l.Flush(ctx); err != nil {
		return nil, err
	}
	recs, err := l.Records(documentID)
	if err != nil {
		return nil, err
	}
	if recipient == "" {
		for _, r := range recs {
			if r.IsDelivery() && r.Service != "" && r.Service != recipient {
				if recipient != "" {
					return nil, fmt.Errorf("%w: document %s went to several recipients: name one", ErrInvalid, documentID)
				}
				recipient = r.Service
			}
		}
	}
	var seqs []uint64
	seen := map[string]bool{} // role NUL event: a repeated event (a retried transfer) keeps its first record
	for _, r := range recs {
		k := r.Role + "\x00" + r.Event
		if r.IsDelivery() && (r.Service == recipient || r.Event == EventSubmitted) && !seen[k] {
			seen[k] = true
			seqs = append(seqs, r.Seq)
		}
	}
	if recipient == "" || len(seqs) == 0 || len(seqs) > MaxDeliveryRecords || !metaNames(recs, recipient) {
		return nil, fmt.Errorf("%w: %d records of document %q to %q", ErrNotFound, len(seqs), documentID, recipient)
	}
	b := &DeliveryBundle{Format: DeliveryBundleFormat, DocumentID: documentID, Recipient: recipient, CAChain: chain}
	for _, seq := range seqs {
		st, err := l.stamped(ctx, seq)
		if err != nil {
			return nil, err
		}
		b.Records = append(b.Records, *st)
	}
	return b, nil
}

// metaNames reports whether the signed metadata of the first delivery
// record of recs names recipient.
func metaNames(recs []Record, recipient string) bool {
	for _, r := range recs {
		if !r.IsDelivery() {
			continue
		}
		var m deliveryMeta
		sd, err := DecodeSigned(r.Request)
		return err == nil && jsonin.DecodeOpen(bytes.NewReader(sd.Body), &m) == nil && slices.Contains(m.Recipients, recipient)
	}
	return false
}
