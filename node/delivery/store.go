package delivery

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of delivery.db.
var (
	bucketOut      = []byte("out")      // document ID → OutDoc
	bucketActive   = []byte("active")   // document ID → {} while a recipient's delivery is open
	bucketQueue    = []byte("queue")    // document ID → {} while a recipient is queued or in flight
	bucketIn       = []byte("in")       // recipient NUL document ID → InDoc
	bucketReceipts = []byte("receipts") // inbox key → {} while a receipt is to be sent
)

// Store is the outbox and inbox of a node: records in bbolt, content in
// encrypted files beside it.
type Store struct {
	db  *bolt.DB
	w   *batcher // every write goes through it (group commit)
	dir string   // content files
	key []byte   // the delivery key (content files' keys derive from it)

	mu     sync.Mutex
	adding map[string]chan struct{} // document IDs being added: closed when done
}

// OpenStore opens (creating) the database at path and the content
// directory dir, with key the node's 32-byte delivery key. Deliveries
// left in flight by a crash are queued again.
func OpenStore(path, dir string, key []byte) (*Store, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: delivery key of %d bytes", ErrStorage, len(key))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStorage, path, err)
	}
	s := &Store{db: db, w: &batcher{db: db, dir: dir}, dir: dir, key: key, adding: map[string]chan struct{}{}}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketOut, bucketActive, bucketQueue, bucketIn, bucketReceipts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return requeue(tx)
	})
	if err == nil {
		err = s.removeStrays() // content files a crash left (expire.go)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	return s, nil
}

// requeue puts every in-flight delivery back in the queue (at start: no
// attempt survives the process).
func requeue(tx *bolt.Tx) error {
	var ids []string // collected first: no writes while iterating
	if err := tx.Bucket(bucketQueue).ForEach(func(k, _ []byte) error {
		ids = append(ids, string(k))
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		d, err := getOut(tx, id)
		if err != nil {
			return err
		}
		if d == nil {
			continue
		}
		changed := false
		for _, r := range d.Recipients {
			if r.State == InFlight {
				r.State, changed = Queued, true
			}
		}
		if changed {
			if err := putOut(tx, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func getOut(tx *bolt.Tx, id string) (*OutDoc, error) {
	raw := tx.Bucket(bucketOut).Get([]byte(id))
	if raw == nil {
		return nil, nil
	}
	var d OutDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: outbox record %s: %v", ErrStorage, id, err)
	}
	return &d, nil
}

func putOut(tx *bolt.Tx, d *OutDoc) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketOut).Put([]byte(d.Meta.ID), raw); err != nil {
		return err
	}
	q := tx.Bucket(bucketQueue)
	if d.contentNeeded() {
		err = q.Put([]byte(d.Meta.ID), nil)
	} else {
		err = q.Delete([]byte(d.Meta.ID))
	}
	if err != nil {
		return err
	}
	if d.Done() {
		return tx.Bucket(bucketActive).Delete([]byte(d.Meta.ID))
	}
	return tx.Bucket(bucketActive).Put([]byte(d.Meta.ID), nil)
}

// outPath is the content file of an outbox document.
func (s *Store) outPath(id string) string { return filepath.Join(s.dir, "out-"+id) }

// inPath is the content file of an inbox document for recipient.
func (s *Store) inPath(recipient, id string) string {
	h := sha256.Sum256([]byte(recipient))
	return filepath.Join(s.dir, "in-"+hex.EncodeToString(h[:8])+"-"+id)
}

// tmpPath is where a submitted content is written before it is accepted.
func (s *Store) tmpPath(id string) string { return filepath.Join(s.dir, "tmp-"+id) }

// AddOut stores d, whose content is at tmp, unless its ID is taken:
// the same document again (same sender, recipients, metadata and
// content) returns the stored one and existing=true, with tmp removed;
// another document under the ID is ErrIDReused. It returns once the
// record and the content file's name are on disk.
func (s *Store) AddOut(d *OutDoc, tmp string) (stored *OutDoc, existing bool, err error) {
	release := s.claimID(d.Meta.ID) // only this submission of the ID touches its file
	defer release()
	err = s.w.update(true, func(tx *bolt.Tx) error {
		stored, existing = nil, false
		old, err := getOut(tx, d.Meta.ID)
		if err != nil {
			return err
		}
		if old != nil {
			if !sameSubmission(&old.Meta, &d.Meta) {
				return fmt.Errorf("%w: %s", ErrIDReused, d.Meta.ID)
			}
			stored, existing = old, true
			return nil
		}
		// Run again after a rollback, the file was renamed already.
		if err := os.Rename(tmp, s.outPath(d.Meta.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %v", ErrStorage, err)
		}
		stored = d
		return putOut(tx, d)
	})
	if existing || err != nil {
		_ = os.Remove(tmp)
	}
	return stored, existing, err
}

// claimID waits until no other submission of id is being added and
// claims it; the function returned releases it.
func (s *Store) claimID(id string) func() {
	for {
		s.mu.Lock()
		ch, busy := s.adding[id]
		if !busy {
			ch = make(chan struct{})
			s.adding[id] = ch
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.adding, id)
				s.mu.Unlock()
				close(ch)
			}
		}
		s.mu.Unlock()
		<-ch
	}
}

// sameSubmission compares what an information system chose.
func sameSubmission(a, b *Meta) bool {
	if a.Sender != b.Sender || a.Title != b.Title || a.DataType != b.DataType || a.Format != b.Format ||
		a.Priority != b.Priority || a.Size != b.Size || a.SHA256 != b.SHA256 || len(a.Recipients) != len(b.Recipients) {
		return false
	}
	for i := range a.Recipients {
		if a.Recipients[i] != b.Recipients[i] {
			return false
		}
	}
	return true
}

// Out returns an outbox document (ErrNotFound if none).
func (s *Store) Out(id string) (*OutDoc, error) {
	var d *OutDoc
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		d, err = getOut(tx, id)
		return err
	})
	if err == nil && d == nil {
		err = fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return d, err
}

// UpdateOut changes an outbox document in one transaction (f's error
// leaves it as it was). When no recipient needs the content any more,
// its file is deleted (R-X8). The transaction may be shared with other
// writes (batch.go): f may run more than once and must only assign what
// it hands out.
func (s *Store) UpdateOut(id string, f func(*OutDoc) error) (*OutDoc, error) {
	var d *OutDoc
	err := s.w.update(false, func(tx *bolt.Tx) (err error) {
		if d, err = getOut(tx, id); err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		if err := f(d); err != nil {
			return err
		}
		if !d.ContentGone && !d.contentNeeded() {
			d.ContentGone = true
		}
		return putOut(tx, d)
	})
	if err == nil && d.ContentGone {
		if rerr := os.Remove(s.outPath(id)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return d, fmt.Errorf("%w: deleting content: %v", ErrStorage, rerr)
		}
	}
	return d, err
}

// Active lists the outbox documents with a delivery still open
// (receipts awaited included).
func (s *Store) Active() ([]*OutDoc, error) { return s.list(bucketActive) }

// Queued lists the outbox documents with a recipient queued or in flight:
// the sender loop's work.
func (s *Store) Queued() ([]*OutDoc, error) { return s.list(bucketQueue) }

func (s *Store) list(bucket []byte) ([]*OutDoc, error) {
	var out []*OutDoc
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, _ []byte) error {
			d, err := getOut(tx, string(k))
			if err == nil && d != nil {
				out = append(out, d)
			}
			return err
		})
	})
	return out, err
}

func inKey(recipient, id string) []byte { return []byte(recipient + "\x00" + id) }

func getIn(tx *bolt.Tx, key []byte) (*InDoc, error) {
	raw := tx.Bucket(bucketIn).Get(key)
	if raw == nil {
		return nil, nil
	}
	var d InDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%w: inbox record: %v", ErrStorage, err)
	}
	return &d, nil
}

func putIn(tx *bolt.Tx, d *InDoc) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return err
	}
	key := inKey(d.Recipient, d.Meta.ID)
	if err := tx.Bucket(bucketIn).Put(key, raw); err != nil {
		return err
	}
	if d.State == Acked && !d.ReceiptSent {
		return tx.Bucket(bucketReceipts).Put(key, nil)
	}
	return tx.Bucket(bucketReceipts).Delete(key)
}

// In returns the inbox document id of recipient; a document of that ID
// held for another recipient only is ErrNotYours, none ErrNotFound.
func (s *Store) In(recipient, id string) (*InDoc, error) {
	var d *InDoc
	var other bool
	err := s.db.View(func(tx *bolt.Tx) (err error) {
		if d, err = getIn(tx, inKey(recipient, id)); err != nil || d != nil {
			return err
		}
		c := tx.Bucket(bucketIn).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) > len(id) && string(k[len(k)-len(id)-1:]) == "\x00"+id {
				other = true
				return nil
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case other:
		return nil, fmt.Errorf("%w: %s", ErrNotYours, id)
	case d == nil:
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return d, nil
}

// UpdateIn creates or changes an inbox document in one transaction: f
// gets the stored one, or nil, and returns what to store (nil: nothing).
// The transaction may be shared with other writes (batch.go): f may run
// more than once and must only assign what it hands out.
func (s *Store) UpdateIn(recipient, id string, f func(*InDoc) (*InDoc, error)) (*InDoc, error) {
	return s.updateIn(false, recipient, id, f)
}

// StoreIn is UpdateIn for a record that points at a content file just
// created: the content directory is synced before the commit.
func (s *Store) StoreIn(recipient, id string, f func(*InDoc) (*InDoc, error)) (*InDoc, error) {
	return s.updateIn(true, recipient, id, f)
}

func (s *Store) updateIn(syncDir bool, recipient, id string, f func(*InDoc) (*InDoc, error)) (*InDoc, error) {
	var d *InDoc
	err := s.w.update(syncDir, func(tx *bolt.Tx) error {
		old, err := getIn(tx, inKey(recipient, id))
		if err != nil {
			return err
		}
		if d, err = f(old); err != nil || d == nil {
			return err
		}
		return putIn(tx, d)
	})
	return d, err
}

// Inbox lists recipient's documents in state st ("" : all).
func (s *Store) Inbox(recipient string, st InState) ([]*InDoc, error) {
	var out []*InDoc
	prefix := []byte(recipient + "\x00")
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIn).Cursor()
		for k, _ := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
			d, err := getIn(tx, k)
			if err != nil {
				return err
			}
			if st == "" || d.State == st {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

// PendingReceipts lists the acknowledged inbox documents whose receipt
// the sender's node has not stored yet.
func (s *Store) PendingReceipts() ([]*InDoc, error) {
	var out []*InDoc
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReceipts).ForEach(func(k, _ []byte) error {
			d, err := getIn(tx, k)
			if err == nil && d != nil {
				out = append(out, d)
			}
			return err
		})
	})
	return out, err
}

// Snapshot writes a consistent copy of the store's database to the writer
// open returns for its size (a node backup); the content files are copied
// beside it.
func (s *Store) Snapshot(open func(size int64) (io.Writer, error)) error {
	return s.db.View(func(tx *bolt.Tx) error {
		w, err := open(tx.Size())
		if err != nil {
			return err
		}
		_, err = tx.WriteTo(w)
		return err
	})
}
