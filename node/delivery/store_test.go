package delivery

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
)

const (
	sender = "VN-TEST/GOV/A/IS-A"
	rcptB  = "VN-TEST/GOV/B/IS-B"
	rcptC  = "VN-TEST/GOV/C/IS-C"
)

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

func openTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenStore(filepath.Join(dir, "delivery.db"), filepath.Join(dir, "content"), testKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func testDoc(id string, prio int, recipients ...string) *OutDoc {
	d := &OutDoc{Meta: Meta{ID: id, Sender: sender, Recipients: recipients, Title: "Công văn", DataType: "cong-van",
		Priority: prio, Created: t0, Size: 5, SHA256: "aa"}}
	for _, r := range recipients {
		d.Recipients = append(d.Recipients, &Recipient{ID: r, State: Queued, NextTry: t0})
	}
	return d
}

// addDoc stores d with content, as submit does.
func addDoc(t *testing.T, s *Store, d *OutDoc) (*OutDoc, bool, error) {
	t.Helper()
	tmp := s.tmpPath(d.Meta.ID + "-x")
	writeContent(t, tmp, []byte("hello"))
	return s.AddOut(d, tmp)
}

func TestStoreIdempotentSubmit(t *testing.T) {
	s, _ := openTestStore(t)
	id := envelope.NewRequestID().String()
	if _, existing, err := addDoc(t, s, testDoc(id, 0, rcptB)); err != nil || existing {
		t.Fatalf("first: existing=%v %v", existing, err)
	}
	again := testDoc(id, 0, rcptB)
	again.Meta.Created = t0.Add(time.Minute) // a resubmission later
	stored, existing, err := addDoc(t, s, again)
	if err != nil || !existing || !stored.Meta.Created.Equal(t0) {
		t.Fatalf("resubmit: existing=%v %v", existing, err)
	}
	other := testDoc(id, 0, rcptB)
	other.Meta.SHA256 = "bb"
	if _, _, err := addDoc(t, s, other); !errors.Is(err, ErrIDReused) {
		t.Fatalf("other content under the ID: %v", err)
	}
	if entries, _ := os.ReadDir(s.dir); len(entries) != 1 {
		t.Fatalf("content files left: %d", len(entries))
	}
}

func TestStateCancel(t *testing.T) {
	s, _ := openTestStore(t)
	id := envelope.NewRequestID().String()
	if _, _, err := addDoc(t, s, testDoc(id, 0, rcptB, rcptC)); err != nil {
		t.Fatal(err)
	}
	// B's delivery is stored by its node; C's is still queued.
	if _, err := s.UpdateOut(id, func(d *OutDoc) error { d.recipient(rcptB).State = Delivered; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOut(id, func(d *OutDoc) error { return cancel(d, rcptB) }); !errors.Is(err, ErrState) {
		t.Fatalf("cancel after delivery: %v", err)
	}
	if _, err := s.UpdateOut(id, func(d *OutDoc) error { return cancel(d, "VN-TEST/GOV/X/Y") }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel for a non-recipient: %v", err)
	}
	d, err := s.UpdateOut(id, func(d *OutDoc) error { return cancel(d, "") })
	if err != nil || d.recipient(rcptC).State != Cancelled || d.recipient(rcptB).State != Delivered {
		t.Fatalf("cancel: %v", err)
	}
	// No recipient needs the content any more: it is gone, the record stays.
	if !d.ContentGone {
		t.Fatal("content kept")
	}
	if _, err := os.Stat(s.outPath(id)); !os.IsNotExist(err) {
		t.Fatalf("content file: %v", err)
	}
	if active, _ := s.Active(); len(active) != 1 { // B still waits for its receipt
		t.Fatalf("active: %d", len(active))
	}
}

func TestStateExpiryAndUndeliverable(t *testing.T) {
	p := Policy{MinBackoff: time.Second, MaxBackoff: time.Minute, Undeliverable: time.Hour}
	d := testDoc(envelope.NewRequestID().String(), 0, rcptB, rcptC)
	d.recipient(rcptB).Attempts, d.recipient(rcptB).FirstTry = 3, t0
	if ended := p.sweep(d, t0.Add(59*time.Minute)); len(ended) != 0 {
		t.Fatalf("ended early: %v", ended)
	}
	ended := p.sweep(d, t0.Add(time.Hour))
	if len(ended) != 1 || ended[0].ID != rcptB || ended[0].State != Undeliverable || ended[0].Reason == "" {
		t.Fatalf("undeliverable: %+v", ended)
	}
	if d.recipient(rcptC).State != Queued { // never tried: not unreachable yet
		t.Fatal("untried recipient ended")
	}
	d.Meta.Expires = t0.Add(2 * time.Hour)
	if ended := p.sweep(d, t0.Add(2*time.Hour)); len(ended) != 1 || ended[0].State != Expired {
		t.Fatalf("expiry: %+v", ended)
	}
	if !d.Done() {
		t.Fatal("not done")
	}
	// A permanent refusal ends at once; a transient one backs off.
	r := &Recipient{ID: rcptB, State: InFlight, Attempts: 1}
	p.failed(r, t0, "unreachable", false)
	if r.State != Queued || !r.NextTry.After(t0) {
		t.Fatalf("transient: %+v", r)
	}
	r.State = InFlight
	p.failed(r, t0, "document_unknown_recipient", true)
	if r.State != Undeliverable {
		t.Fatalf("permanent: %+v", r)
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	p := Policy{MinBackoff: time.Second, MaxBackoff: 30 * time.Second}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 30 * time.Second} {
		for range 50 {
			if d := p.backoff(n); d < want*3/4 || d > want*5/4 {
				t.Fatalf("attempt %d: %s, want %s ±25%%", n, d, want)
			}
		}
	}
}

func TestPriorityOrder(t *testing.T) {
	var ready []due
	for i, prio := range []int{0, 9, 5, 9} {
		d := testDoc(envelope.NewRequestID().String(), prio, rcptB)
		d.Meta.Created = t0.Add(time.Duration(i) * time.Second)
		d.Meta.ID = string(rune('a' + i))
		ready = append(ready, dueOf(d, t0.Add(time.Minute))...)
	}
	slices.SortStableFunc(ready, cmpDue)
	var got string
	for _, d := range ready {
		got += d.doc
	}
	if got != "bdca" { // priority 9 oldest first, then 5, then 0
		t.Fatalf("order %s", got)
	}
	// Not due before its next attempt.
	d := testDoc("x", 0, rcptB)
	d.recipient(rcptB).NextTry = t0.Add(time.Hour)
	if len(dueOf(d, t0)) != 0 {
		t.Fatal("due before its time")
	}
}

func TestRestartRequeuesInFlight(t *testing.T) {
	s, dir := openTestStore(t)
	id := envelope.NewRequestID().String()
	if _, _, err := addDoc(t, s, testDoc(id, 0, rcptB)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateOut(id, func(d *OutDoc) error { d.Recipients[0].State = InFlight; return nil }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := OpenStore(filepath.Join(dir, "delivery.db"), filepath.Join(dir, "content"), testKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	d, err := s2.Out(id)
	if err != nil || d.Recipients[0].State != Queued {
		t.Fatalf("after restart: %v %+v", err, d)
	}
}

func TestInboxDedupAndOwnership(t *testing.T) {
	s, _ := openTestStore(t)
	id := envelope.NewRequestID().String()
	mk := func(old *InDoc) (*InDoc, error) {
		if old != nil {
			return nil, nil // already held: nothing stored twice
		}
		return &InDoc{Meta: testDoc(id, 0, rcptB).Meta, Recipient: rcptB, State: Waiting}, nil
	}
	for range 2 {
		if _, err := s.UpdateIn(rcptB, id, mk); err != nil {
			t.Fatal(err)
		}
	}
	if docs, _ := s.Inbox(rcptB, Waiting); len(docs) != 1 {
		t.Fatalf("inbox holds %d", len(docs))
	}
	if _, err := s.In("VN-TEST/GOV/B/OTHER", id); !errors.Is(err, ErrNotYours) {
		t.Fatalf("another subsystem: %v", err)
	}
	if _, err := s.In(rcptB, envelope.NewRequestID().String()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// TestStoreRemovesStrays: the content files a crash leaves behind (a
// cut submission's spool, an outbox file no recipient needs, an inbox
// file of an acknowledged document, one without a record) are deleted
// when the store opens again; the files records need stay.
func TestStoreRemovesStrays(t *testing.T) {
	dir := t.TempDir()
	db, content := filepath.Join(dir, "delivery.db"), filepath.Join(dir, "content")
	s, err := OpenStore(db, content, testKey())
	if err != nil {
		t.Fatal(err)
	}
	queued, done := envelope.NewRequestID().String(), envelope.NewRequestID().String()
	for _, id := range []string{queued, done} {
		if _, _, err := addDoc(t, s, testDoc(id, 0, rcptB)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.UpdateOut(done, func(d *OutDoc) error { d.Recipients[0].State = Delivered; return nil }); err != nil {
		t.Fatal(err)
	}
	waiting, acked, orphan := envelope.NewRequestID().String(), envelope.NewRequestID().String(), envelope.NewRequestID().String()
	receiving := envelope.NewRequestID().String()
	for id, st := range map[string]InState{waiting: Waiting, acked: Acked, receiving: Receiving} {
		if _, err := s.UpdateIn(rcptB, id, func(*InDoc) (*InDoc, error) {
			return &InDoc{Meta: Meta{ID: id, Sender: sender}, Recipient: rcptB, State: st, ReceiptSent: true}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// What a crash leaves: files whose records say they are gone.
	stray := []string{s.tmpPath(queued + "-CUT"), s.outPath(done), s.inPath(rcptB, acked), s.inPath(rcptC, orphan)}
	keep := []string{s.outPath(queued), s.inPath(rcptB, waiting), s.inPath(rcptB, receiving)}
	for _, p := range append(stray, keep...) {
		writeContent(t, p, []byte("hello"))
	}
	s.Close()
	if s, err = OpenStore(db, content, testKey()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range stray {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", filepath.Base(p), err)
		}
	}
	for _, p := range keep {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
}
