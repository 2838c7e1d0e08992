package delivery

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"

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
