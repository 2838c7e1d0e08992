package msglog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/tsa"
)

const (
	testSender    = "VN-TEST/GOV/A/SUBSYS"
	testRecipient = "VN-TEST/GOV/B/INBOX"
	testDocID     = "0b8e6f9c-2f4b-4c2e-9d55-1b1e1f0c3a77"
)

// signed signs v (JSON) with s under prefix, in a delivery record's form.
func signed(t testing.TB, s *envelope.Signer, prefix string, v any) []byte {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	sig, cert, err := s.SignDetached(prefix, body)
	if err != nil {
		t.Fatal(err)
	}
	return EncodeSigned(body, cert, sig)
}

// delivery signs a document's metadata (GOV/A), its transport receipt and
// its receipt (GOV/B) as node/delivery does.
type deliveryParts struct{ meta, stored, receipt []byte }

func (p *pki) delivery(t testing.TB, receiptSHA string) deliveryParts {
	t.Helper()
	now := p.now().UTC().Truncate(time.Millisecond)
	sum := hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32))
	if receiptSHA == "" {
		receiptSHA = sum
	}
	meta := map[string]any{"id": testDocID, "sender": testSender, "recipients": []string{testRecipient}, "title": "Công văn 12",
		"data_type": "cong-van", "priority": 5, "created": now, "size": 1234, "sha256": sum}
	st := deliveryStatement{DocumentID: testDocID, Sender: testSender, Recipient: testRecipient, SHA256: sum, Size: 1234,
		Received: now, Node: "12D3KooWProviderNodeB1"}
	rc := st
	rc.SHA256, rc.Acknowledged = receiptSHA, now
	return deliveryParts{meta: signed(t, p.consumer, DocumentPrefix, meta), stored: signed(t, p.provider, StoredPrefix, st),
		receipt: signed(t, p.provider, ReceiptPrefix, rc)}
}

// deliveryRecords are the sender's three records of a delivery.
func deliveryRecords(d deliveryParts) []Record {
	base := Record{Role: RoleSender, RequestID: testDocID, Client: testSender, ConsumerPeer: "12D3KooWConsumerNodeA1", Request: d.meta}
	sub, stored, acked := base, base, base
	sub.Event = EventSubmitted
	stored.Event, stored.Service, stored.ProviderPeer, stored.Response = EventStored, testRecipient, "12D3KooWProviderNodeB1", d.stored
	acked.Event, acked.Service, acked.ProviderPeer, acked.Response = EventAcknowledged, testRecipient, "12D3KooWProviderNodeB1", d.receipt
	return []Record{sub, stored, acked}
}

// TestCallRecordHashUnchanged: a call record's hash is still the
// preimage doc.go gives (no event, RecordPrefix), so existing logs verify.
func TestCallRecordHashUnchanged(t *testing.T) {
	r := fakeRecord(7)
	r.Seq, r.Time, r.PrevHash = 7, time.Unix(1700000000, 5).UTC(), make([]byte, 32)
	var b []byte
	b = append(b, "DXL-MSGLOG-RECORD-v1\x00"...)
	b = binary.BigEndian.AppendUint64(b, 7)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	for _, f := range [][]byte{[]byte(r.Role), []byte(r.RequestID), []byte(r.Client), []byte(r.Service),
		[]byte(r.ConsumerPeer), []byte(r.ProviderPeer), r.Request, r.Response} {
		b = putBytes(b, f)
	}
	b = binary.BigEndian.AppendUint64(b, 200)
	b = putBytes(b, nil)
	b = append(b, 0)
	b = putBytes(b, r.PrevHash)
	want := sha256.Sum256(b)
	if !bytes.Equal(r.ComputeHash(), want[:]) {
		t.Fatal("a call record's hash changed")
	}
	d := r
	d.Role, d.Event, d.Status = RoleRecipient, EventStored, 0
	if bytes.Equal(d.encode(nil)[:len(DeliveryPrefix)], []byte(DeliveryPrefix)) == false {
		t.Fatal("a delivery record is not under DeliveryPrefix")
	}
}

func TestDeliveryRecordValidation(t *testing.T) {
	p := newPKI(t, 0, 0)
	l := openLog(t, Config{TSAs: tsas()})
	recs := deliveryRecords(p.delivery(t, ""))
	bad := map[string]func(r *Record){
		"call with event":          func(r *Record) { r.Role = RoleConsumer },
		"unknown event":            func(r *Record) { r.Event = "delivered" },
		"recipient submits":        func(r *Record) { r.Role, r.Event, r.Response = RoleRecipient, EventSubmitted, nil },
		"submitted with statement": func(r *Record) { r.Event = EventSubmitted },
		"stored without statement": func(r *Record) { r.Response = nil },
		"status":                   func(r *Record) { r.Status = 200 },
	}
	for name, f := range bad {
		r := recs[1]
		f(&r)
		if err := l.Append(r, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Append = %v, want ErrInvalid", name, err)
		}
	}
}

// TestDeliveryRecordsAndEvidence: delivery records chain with call
// records (the chain verifies after a restart), read back whole, and give
// a bundle that verifies offline; a call's evidence is unaffected.
func TestDeliveryRecordsAndEvidence(t *testing.T) {
	p, auth := newTSA(t)
	path := filepath.Join(t.TempDir(), "msglog.db")
	cfg := Config{Path: path, TSAs: tsas(TSA{Name: "local", Stamper: tsa.LocalStamper(auth)}), SealKey: bytes.Repeat([]byte{7}, 32), Logger: quiet()}
	l := openLog(t, cfg)
	req, resp := p.exchange(t, 200)
	if err := l.Append(record(req, resp, 200), nil); err != nil {
		t.Fatal(err)
	}
	recs := deliveryRecords(p.delivery(t, ""))
	for _, r := range recs {
		if err := l.Append(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Append(recs[1], nil); err != nil { // a retried transfer's second stored record
		t.Fatal(err)
	}
	flush(t, l)
	l.Close()
	l = openLog(t, cfg)
	if n, err := l.VerifyChain(); err != nil || n != 5 {
		t.Fatalf("VerifyChain = %d, %v", n, err)
	}
	got, err := l.Records(testDocID)
	if err != nil || len(got) != 4 || got[2].Event != EventAcknowledged || !bytes.Equal(got[2].Response, recs[2].Response) {
		t.Fatalf("records %d %v", len(got), err)
	}
	ctx := context.Background()
	if _, err := l.Evidence(ctx, testDocID, p.caChain); !errors.Is(err, ErrNotFound) {
		t.Fatalf("call evidence of a document: %v", err)
	}
	cb, err := l.Evidence(ctx, req.RequestID.String(), p.caChain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBundle(cb, p.roots); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeliveryEvidence(ctx, testDocID, "VN-TEST/GOV/A/SUBSYS", p.caChain); !errors.Is(err, ErrNotFound) {
		t.Fatalf("evidence for a recipient the metadata does not name: %v", err)
	}
	b, err := l.DeliveryEvidence(ctx, testDocID, "", p.caChain)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := BundleFormatOf(raw); f != DeliveryBundleFormat {
		t.Fatalf("format %d", f)
	}
	b2, err := ReadDeliveryBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifyDeliveryBundle(b2, p.roots)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Events) != 3 || v.Sender != testSender || v.Recipient != testRecipient || v.SenderMember != "VN-TEST/GOV/A" ||
		v.RecipientMember != "VN-TEST/GOV/B" || v.Size != 1234 || v.Stored.IsZero() || v.Acknowledged.IsZero() || v.Events[2].Stamped.IsZero() {
		t.Fatalf("verified %+v", v)
	}
	if _, err := VerifyBundle(&Bundle{Format: BundleFormat, Record: b.Records[0].Record, Proof: b.Records[0].Proof,
		MerkleRoot: b.Records[0].MerkleRoot, Token: b.Records[0].Token, CAChain: b.CAChain}, p.roots); !errors.Is(err, ErrTamper) {
		t.Fatalf("a delivery record as a call's bundle: %v", err)
	}
}

// TestDeliveryEvidenceTamper: a changed byte of the metadata or the
// receipt, a statement that does not match the metadata or one signed by
// the wrong member, and a rewritten record in the database all fail.
func TestDeliveryEvidenceTamper(t *testing.T) {
	p, auth := newTSA(t)
	path := filepath.Join(t.TempDir(), "msglog.db")
	cfg := Config{Path: path, TSAs: tsas(TSA{Name: "local", Stamper: tsa.LocalStamper(auth)}), Logger: quiet()}
	l := openLog(t, cfg)
	for _, r := range deliveryRecords(p.delivery(t, "")) {
		if err := l.Append(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	b, err := l.DeliveryEvidence(ctx, testDocID, testRecipient, p.caChain)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := b.Marshal()
	flip := func(f func(b *DeliveryBundle)) error {
		c, err := ReadDeliveryBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		f(c)
		_, err = VerifyDeliveryBundle(c, p.roots)
		return err
	}
	for name, f := range map[string]func(b *DeliveryBundle){
		"metadata byte": func(b *DeliveryBundle) { b.Records[0].Record.Request[40] ^= 1 },
		"receipt byte":  func(b *DeliveryBundle) { b.Records[2].Record.Response[40] ^= 1 },
		"receipt byte, hash recomputed": func(b *DeliveryBundle) {
			r := &b.Records[2].Record
			r.Response[40] ^= 1
			r.Hash = r.ComputeHash()
		},
		"bundle's recipient changed": func(b *DeliveryBundle) { b.Recipient = "VN-TEST/GOV/B/OTHER" },
	} {
		// The signature fails (ErrEvidence) or, where it is checked first,
		// the record hash or its proof (ErrTamper).
		if err := flip(f); !errors.Is(err, ErrTamper) && !errors.Is(err, ErrEvidence) {
			t.Errorf("%s: %v, want ErrTamper or ErrEvidence", name, err)
		}
	}
	if err := flip(func(b *DeliveryBundle) { b.Records = b.Records[1:] }); err != nil {
		t.Errorf("the recipient's part alone: %v", err)
	}

	// Well-formed, correctly logged records whose signed statements lie.
	for name, parts := range map[string]deliveryParts{
		"receipt for other content": p.delivery(t, hex.EncodeToString(make([]byte, 32))),
		"receipt signed by the sender": func() deliveryParts {
			d := p.delivery(t, "")
			var s Signed
			json.Unmarshal(d.receipt, &s)
			sig, cert, _ := p.consumer.SignDetached(ReceiptPrefix, s.Body)
			d.receipt = EncodeSigned(s.Body, cert, sig)
			return d
		}(),
		"transport receipt under the receipt's prefix": func() deliveryParts {
			d := p.delivery(t, "")
			var s Signed
			json.Unmarshal(d.stored, &s)
			sig, cert, _ := p.provider.SignDetached(ReceiptPrefix, s.Body)
			d.stored = EncodeSigned(s.Body, cert, sig)
			return d
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			l := openLog(t, Config{TSAs: tsas(TSA{Name: "local", Stamper: tsa.LocalStamper(auth)})})
			for _, r := range deliveryRecords(parts) {
				if err := l.Append(r, nil); err != nil {
					t.Fatal(err)
				}
			}
			b, err := l.DeliveryEvidence(ctx, testDocID, testRecipient, p.caChain)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyDeliveryBundle(b, p.roots); !errors.Is(err, ErrEvidence) {
				t.Fatalf("verify: %v, want ErrEvidence", err)
			}
		})
	}

	// A delivery record rewritten in the database breaks the chain.
	flush(t, l)
	l.Close()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketRecords)
		r, err := unmarshalRecord(bk.Get(seqKey(3)))
		if err != nil {
			return err
		}
		r.Event = EventStored
		r.Hash = r.ComputeHash()
		return bk.Put(seqKey(3), marshalRecord(r))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	l = openLog(t, cfg)
	if n, err := l.VerifyChain(); !errors.Is(err, ErrChain) {
		t.Fatalf("VerifyChain = %d, %v; want ErrChain", n, err)
	}
}

// TestDeliveryRecordsJournalReplay: delivery records that reached only
// the journal before a crash are in the log after the restart, event and
// all, and the chain verifies.
func TestDeliveryRecordsJournalReplay(t *testing.T) {
	p := newPKI(t, 0, 0)
	dir := t.TempDir()
	l, _ := openJournaled(t, dir)
	if err := l.Append(fakeRecord(1), nil); err != nil {
		t.Fatal(err)
	}
	flush(t, l)
	hold, err := l.db.Begin(true) // the writer cannot commit: the next appends reach only the journal
	if err != nil {
		t.Fatal(err)
	}
	recs := deliveryRecords(p.delivery(t, ""))
	for _, r := range recs {
		if err := l.Append(r, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Durable(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := testutil.CrashCopy(t, dir)
	_ = hold.Rollback()
	r, _ := openJournaled(t, crashed)
	got, err := r.Records(testDocID)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d records after the restart, %v", len(got), err)
	}
	for i, g := range got {
		if g.Event != recs[i].Event || g.Role != RoleSender || !bytes.Equal(g.Response, recs[i].Response) {
			t.Fatalf("record %d: %+v", i, g)
		}
	}
	if n, err := r.VerifyChain(); err != nil || n != 4 {
		t.Fatalf("VerifyChain = %d, %v", n, err)
	}
}
