package delivery

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dxl-network/dxl/node/envelope"
)

// Concurrent writes share commits, a refused one leaves the others in,
// and everything answered is in the file when it is opened again.
func TestStoreGroupCommit(t *testing.T) {
	s, dir := openTestStore(t)
	const n = 64
	ids := make([]string, n)
	for i := range ids {
		ids[i] = envelope.NewRequestID().String()
		if _, _, err := addDoc(t, s, testDoc(ids[i], 0, rcptB)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.UpdateOut(ids[i], func(d *OutDoc) error {
				if i%8 == 0 {
					return ErrState // refused: must change nothing
				}
				d.Recipients[0].State = InFlight
				d.Recipients[0].Attempts = i
				return nil
			})
		})
	}
	wg.Wait()
	s.Close()
	s2, err := OpenStore(filepath.Join(dir, "delivery.db"), filepath.Join(dir, "content"), testKey())
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for i, id := range ids {
		d, err := s2.Out(id)
		if err != nil {
			t.Fatal(err)
		}
		r := d.Recipients[0]
		if i%8 == 0 {
			if !errors.Is(errs[i], ErrState) || r.Attempts != 0 {
				t.Fatalf("%d: refused write: err %v, attempts %d", i, errs[i], r.Attempts)
			}
			continue
		}
		// In flight at the "crash" (the close): queued again on open.
		if errs[i] != nil || r.Attempts != i || r.State != Queued {
			t.Fatalf("%d: err %v, attempts %d, state %s", i, errs[i], r.Attempts, r.State)
		}
	}
}

// Concurrent submissions of one document ID: one is stored, the others
// are the same document again; the content file is there.
func TestStoreConcurrentSameID(t *testing.T) {
	s, _ := openTestStore(t)
	id := envelope.NewRequestID().String()
	var wg sync.WaitGroup
	existing := make([]bool, 8)
	errs := make([]error, 8)
	for i := range 8 {
		tmp := s.tmpPath(id + "-" + string(rune('a'+i)))
		writeContent(t, tmp, []byte("hello"))
		wg.Go(func() { _, existing[i], errs[i] = s.AddOut(testDoc(id, 0, rcptB), tmp) })
	}
	wg.Wait()
	fresh := 0
	for i := range 8 {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !existing[i] {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d submissions stored as new", fresh)
	}
	r, err := openContent(s.outPath(id), s.key)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}
