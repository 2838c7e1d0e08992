package msglog

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/envelope"
)

// VerifiedDelivery is what a delivery bundle proves.
type VerifiedDelivery struct {
	DocumentID, Sender, Recipient string
	Title, DataType               string
	SHA256                        string
	Size                          int64
	// SenderMember signed the metadata at Submitted; RecipientMember
	// signed the transport receipt (Stored, by node StoredNode) and the
	// receipt (Acknowledged), when the bundle holds them.
	SenderMember, RecipientMember   string
	Submitted, Stored, Acknowledged time.Time
	StoredNode                      string
	// Events are the bundle's records: role, event and the stamp time of
	// each (the record existed by then).
	Events []VerifiedEvent
}

// VerifiedEvent is one record of a verified delivery bundle.
type VerifiedEvent struct {
	Seq             uint64
	Role, Event     string
	Logged, Stamped time.Time
}

// deliveryMeta is what verification reads of node/delivery's metadata;
// other fields are signed but not needed here.
type deliveryMeta struct {
	ID         string    `json:"id"`
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	Title      string    `json:"title"`
	DataType   string    `json:"data_type"`
	Created    time.Time `json:"created"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
}

// deliveryStatement is what verification reads of a transport receipt
// or a receipt (node/delivery's Stored and Receipt).
type deliveryStatement struct {
	DocumentID   string    `json:"document_id"`
	Sender       string    `json:"sender"`
	Recipient    string    `json:"recipient"`
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	Received     time.Time `json:"received"`
	Acknowledged time.Time `json:"acknowledged"`
	Node         string    `json:"node"`
}

// VerifyDeliveryBundle checks b offline against the network root(s):
//
//   - every record as VerifyBundle checks a call's (hash, canonical time,
//     a delivery role and event), of b's document and recipient (the
//     submitted record names no recipient), in increasing Seq, all with
//     the same signed metadata (ErrTamper);
//   - the metadata signed by a member-sign certificate of the sender's
//     member at its creation time, naming b's document, the records'
//     sender and b's recipient (ErrEvidence);
//   - each transport receipt and receipt signed by a member-sign
//     certificate of the recipient's member at its own time, stating the
//     metadata's document, sender, SHA-256 and size and b's recipient
//     (ErrEvidence);
//   - each record's proof, token and CA chain as VerifyBundle does.
//
// Revocation is not checked.
func VerifyDeliveryBundle(b *DeliveryBundle, roots *x509.CertPool) (*VerifiedDelivery, error) {
	if b == nil || roots == nil {
		return nil, fmt.Errorf("%w: bundle and roots are required", ErrConfig)
	}
	if b.Format != DeliveryBundleFormat || len(b.Records) == 0 || len(b.Records) > MaxDeliveryRecords {
		return nil, fmt.Errorf("%w: format %d with %d records", ErrMalformed, b.Format, len(b.Records))
	}
	chain, inters, err := parseBundleChain(b.CAChain)
	if err != nil {
		return nil, err
	}
	certs := envelope.NewChainChecker(roots, inters, 0)
	if err := checkDeliveryRecords(b); err != nil {
		return nil, err
	}
	v, err := verifyMeta(b, certs)
	if err != nil {
		return nil, err
	}
	for i := range b.Records {
		st := &b.Records[i]
		if err := verifyStatement(&st.Record, v, certs); err != nil {
			return nil, err
		}
		info, err := verifyStamp(st, roots, inters)
		if err != nil {
			return nil, err
		}
		if err := checkStampBinding(st, info); err != nil {
			return nil, err
		}
		if err := checkChainIsPath(chain, roots, inters, info.Time); err != nil {
			return nil, err
		}
		v.Events = append(v.Events, VerifiedEvent{Seq: st.Record.Seq, Role: st.Record.Role, Event: st.Record.Event,
			Logged: st.Record.Time, Stamped: info.Time})
	}
	return v, nil
}

// checkDeliveryRecords checks the records alone and against each other.
func checkDeliveryRecords(b *DeliveryBundle) error {
	for i := range b.Records {
		r := &b.Records[i].Record
		if len(r.Hash) != 32 || len(r.PrevHash) != 32 || !canonicalTime(r.Time) || r.Seq == 0 {
			return fmt.Errorf("%w: record %d: hash, previous hash, time or seq malformed", ErrTamper, i)
		}
		if !bytes.Equal(r.ComputeHash(), r.Hash) {
			return fmt.Errorf("%w: record %d: hash does not recompute", ErrTamper, i)
		}
		if err := r.checkKind(); err != nil || !r.IsDelivery() {
			return fmt.Errorf("%w: record %d is not a delivery record (%v)", ErrTamper, i, err)
		}
		forRecipient := r.Service == b.Recipient || (r.Event == EventSubmitted && r.Service == "")
		if r.RequestID != b.DocumentID || !forRecipient {
			return fmt.Errorf("%w: record %d is of document %s to %q, not the bundle's", ErrTamper, i, r.RequestID, r.Service)
		}
		if i > 0 {
			prev := &b.Records[i-1].Record
			if r.Seq <= prev.Seq || !bytes.Equal(r.Request, prev.Request) || r.Client != prev.Client {
				return fmt.Errorf("%w: record %d: out of order or of other metadata", ErrTamper, i)
			}
		}
	}
	return nil
}

// verifyMeta verifies the signed metadata of the bundle's records.
func verifyMeta(b *DeliveryBundle, certs envelope.CertChecker) (*VerifiedDelivery, error) {
	r := &b.Records[0].Record
	sd, err := DecodeSigned(r.Request)
	if err != nil {
		return nil, fmt.Errorf("%w: signed metadata: %v", ErrEvidence, err)
	}
	var m deliveryMeta
	if err := jsonin.DecodeOpen(bytes.NewReader(sd.Body), &m); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrEvidence, err)
	}
	info, err := envelope.VerifyDetached(certs, nil, sd.Cert, DocumentPrefix, sd.Body, sd.Sig, m.Created)
	if err != nil {
		return nil, fmt.Errorf("%w: metadata signature: %w", ErrEvidence, err)
	}
	signer := info.Member.String()
	if m.ID != b.DocumentID || m.Sender != r.Client || memberOf(m.Sender) != signer || !slices.Contains(m.Recipients, b.Recipient) {
		return nil, fmt.Errorf("%w: metadata of %s from %s signed by %s does not match the records (document %s from %s to %s)",
			ErrEvidence, m.ID, m.Sender, signer, b.DocumentID, r.Client, b.Recipient)
	}
	return &VerifiedDelivery{DocumentID: m.ID, Sender: m.Sender, Recipient: b.Recipient, Title: m.Title, DataType: m.DataType,
		SHA256: m.SHA256, Size: m.Size, SenderMember: signer, Submitted: m.Created}, nil
}

// verifyStatement verifies the transport receipt or receipt of r, if any,
// against the verified metadata v, and notes it in v.
func verifyStatement(r *Record, v *VerifiedDelivery, certs envelope.CertChecker) error {
	if r.Event == EventSubmitted {
		return nil
	}
	what, prefix := "transport receipt", StoredPrefix
	if r.Event == EventAcknowledged {
		what, prefix = "receipt", ReceiptPrefix
	}
	sd, err := DecodeSigned(r.Response)
	if err != nil {
		return fmt.Errorf("%w: signed %s: %v", ErrEvidence, what, err)
	}
	var s deliveryStatement
	if err := jsonin.DecodeOpen(bytes.NewReader(sd.Body), &s); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrEvidence, what, err)
	}
	at := s.Received
	if r.Event == EventAcknowledged {
		at = s.Acknowledged
	}
	info, err := envelope.VerifyDetached(certs, nil, sd.Cert, prefix, sd.Body, sd.Sig, at)
	if err != nil {
		return fmt.Errorf("%w: %s signature: %w", ErrEvidence, what, err)
	}
	signer := info.Member.String()
	if s.DocumentID != v.DocumentID || s.Sender != v.Sender || s.Recipient != v.Recipient || memberOf(s.Recipient) != signer ||
		s.SHA256 != v.SHA256 || s.Size != v.Size || at.IsZero() {
		return fmt.Errorf("%w: %s (document %s, %s → %s, sha256 %.16s…, %d bytes, signed by %s) does not match the metadata",
			ErrEvidence, what, s.DocumentID, s.Sender, s.Recipient, s.SHA256, s.Size, signer)
	}
	v.RecipientMember = signer
	if r.Event == EventAcknowledged {
		v.Acknowledged = s.Acknowledged
	} else {
		v.Stored, v.StoredNode = s.Received, s.Node
	}
	return nil
}

// memberOf is the member part (INSTANCE/CLASS/CODE) of a subsystem ID.
func memberOf(subsystem string) string {
	if i := strings.LastIndexByte(subsystem, '/'); i > 0 {
		return subsystem[:i]
	}
	return ""
}
