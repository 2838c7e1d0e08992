package delivery

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// removeStrays deletes, when the store opens, the content files no
// record needs: a crash can leave them, since a file is written before
// its record is committed and deleted after.
//   - tmp-*: a submission's spooled content whose document was not
//     stored (the submit was cut, or the node died before AddOut);
//   - out-ID: an outbox document no recipient needs any more (the node
//     died between the commit that ended its last delivery and the
//     file's removal in UpdateOut);
//   - in-*-ID: an inbox document acknowledged (the node died between
//     the acknowledgment's commit and the file's removal in
//     Acknowledge), or of which the inbox holds no record.
//
// No submit or transfer runs while the store opens, so nothing in
// progress is touched.
func (s *Store) removeStrays() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	inFiles := map[string][]string{} // document ID → its in- file names
	var remove []string
	err = s.db.View(func(tx *bolt.Tx) error {
		for _, e := range entries {
			name := e.Name()
			switch {
			case strings.HasPrefix(name, "tmp-"):
				remove = append(remove, name)
			case strings.HasPrefix(name, "out-"):
				if tx.Bucket(bucketQueue).Get([]byte(name[len("out-"):])) == nil {
					remove = append(remove, name)
				}
			case strings.HasPrefix(name, "in-") && len(name) > len("in-")+17:
				id := name[len("in-")+17:] // in-<16 hex digits>-ID (inPath)
				inFiles[id] = append(inFiles[id], name)
			}
		}
		keep, err := s.inboxNeeds(tx, inFiles)
		for _, names := range inFiles {
			for _, name := range names {
				if !keep[name] {
					remove = append(remove, name)
				}
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, name := range remove {
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// inboxNeeds returns the names, among the in- files of documents ids,
// of those an inbox record still needs (receiving or waiting).
func (s *Store) inboxNeeds(tx *bolt.Tx, ids map[string][]string) (map[string]bool, error) {
	keep := map[string]bool{}
	if len(ids) == 0 {
		return keep, nil
	}
	c := tx.Bucket(bucketIn).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		i := bytes.IndexByte(k, 0)
		if i < 0 || ids[string(k[i+1:])] == nil {
			continue
		}
		d, err := getIn(tx, k)
		if err != nil {
			return nil, err
		}
		if d.State == Receiving || d.State == Waiting {
			keep[filepath.Base(s.inPath(d.Recipient, d.Meta.ID))] = true
		}
	}
	return keep, nil
}

// InExpired is an inbox document its information system did not
// acknowledge before the document's expiry: its content is deleted, it
// can no longer be fetched nor acknowledged.
const InExpired InState = "expired"

// runExpiry sweeps the inbox every Config.ExpireEvery until ctx ends.
func (s *Service) runExpiry(ctx context.Context) {
	t := time.NewTicker(s.cfg.ExpireEvery)
	defer t.Stop()
	for {
		s.expireInbox(s.cfg.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// expireInbox ends, at now, the inbox documents past their expiry and
// not acknowledged: a waiting one becomes expired (content deleted, an
// "expired" event to its information system); one still receiving is
// removed with its partial content. A transfer the sender gave up on
// (no content arrived for Policy.Undeliverable: no sender with the same
// period still tries) is removed likewise; should the sender offer it
// again, it starts from the beginning.
func (s *Service) expireInbox(now time.Time) {
	var due []*InDoc
	err := s.store.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIn).ForEach(func(k, _ []byte) error {
			d, err := getIn(tx, k)
			if err == nil && s.expiring(d, now) {
				due = append(due, d)
			}
			return err
		})
	})
	if err != nil {
		s.log.Error("inbox not readable", "error", err)
		return
	}
	for _, d := range due {
		s.expireOne(d, now)
	}
}

// expiring reports whether d is to be ended at now.
func (s *Service) expiring(d *InDoc, now time.Time) bool {
	if d.State != Waiting && d.State != Receiving {
		return false
	}
	if !d.Meta.Expires.IsZero() && !now.Before(d.Meta.Expires) {
		return true
	}
	if d.State != Receiving {
		return false
	}
	last := d.Meta.Created // no content yet: the sender's first attempt is no earlier
	if st, err := os.Stat(s.store.inPath(d.Recipient, d.Meta.ID)); err == nil {
		last = st.ModTime()
	}
	return now.Sub(last) >= s.cfg.Policy.Undeliverable
}

// expireOne ends d, unless a transfer of it is under way.
func (s *Service) expireOne(d *InDoc, now time.Time) {
	key := d.Recipient + "\x00" + d.Meta.ID
	if !s.lock(key) {
		return
	}
	defer s.unlock(key)
	var ended InState
	err := s.store.db.Update(func(tx *bolt.Tx) error {
		cur, err := getIn(tx, inKey(d.Recipient, d.Meta.ID))
		if err != nil || cur == nil || !s.expiring(cur, now) {
			return err
		}
		ended = cur.State
		if cur.State == Receiving {
			return tx.Bucket(bucketIn).Delete(inKey(d.Recipient, d.Meta.ID))
		}
		cur.State = InExpired
		return putIn(tx, cur)
	})
	if err != nil || ended == "" {
		if err != nil {
			s.log.Error("inbox update failed", "document_id", d.Meta.ID, "error", err)
		}
		return
	}
	if err := os.Remove(s.store.inPath(d.Recipient, d.Meta.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("content not deleted", "document_id", d.Meta.ID, "error", err)
	}
	if ended == Receiving {
		s.log.Info("unfinished transfer removed", "document_id", d.Meta.ID, "recipient", d.Recipient)
		return
	}
	s.log.Info("document expired", "document_id", d.Meta.ID, "recipient", d.Recipient, "expires", d.Meta.Expires)
	s.metrics.count("recipient", string(InExpired), 1)
	s.publish(d.Recipient, Event{Type: string(InExpired), ID: d.Meta.ID, Sender: d.Meta.Sender, Recipient: d.Recipient})
}
