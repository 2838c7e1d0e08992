package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrChain means a log or an export does not verify: an entry's hash,
	// its link to the previous entry or its sequence number is wrong, or an
	// exported line is not an entry. The error names the Seq where it broke.
	ErrChain = errors.New("audit: hash chain broken")
	// ErrInvalid means Append was given an entry it will not record.
	ErrInvalid = errors.New("audit: invalid entry")
)

// MaxField caps the length of each text field of an entry, in bytes.
const MaxField = 16 << 10

// hashDomain separates audit hashes from every other SHA-256 in DXL.
const hashDomain = "DXL-AUDIT-v1\x00"

// Entry is one recorded admin action.
type Entry struct {
	Seq      uint64    `json:"seq"` // 1, 2, 3 … without gaps
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`  // who: operator, key or "local"
	Action   string    `json:"action"` // what, e.g. "acl.grant"
	Target   string    `json:"target,omitempty"`
	Detail   string    `json:"detail,omitempty"` // never a secret
	PrevHash []byte    `json:"prev_hash"`        // the previous entry's Hash; empty for Seq 1
	Hash     []byte    `json:"hash"`             // ComputeHash of this entry
}

// ComputeHash returns SHA-256 of "DXL-AUDIT-v1\x00" followed by Seq (8
// bytes, big-endian), Time as Unix nanoseconds (8 bytes, big-endian, two's
// complement) and Actor, Action, Target, Detail and PrevHash, each as an
// 8-byte big-endian length and its bytes. The Hash field is not read.
func (e *Entry) ComputeHash() []byte {
	b := make([]byte, 0, len(hashDomain)+16+5*8+len(e.Actor)+len(e.Action)+len(e.Target)+len(e.Detail)+len(e.PrevHash))
	b = append(b, hashDomain...)
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, f := range [][]byte{[]byte(e.Actor), []byte(e.Action), []byte(e.Target), []byte(e.Detail), e.PrevHash} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	sum := sha256.Sum256(b)
	return sum[:]
}

// chain checks that e follows an entry with sequence prevSeq and hash
// prevHash and that its own hash is right.
func chain(e *Entry, prevSeq uint64, prevHash []byte) error {
	switch {
	case e.Seq != prevSeq+1:
		return fmt.Errorf("%w: seq %d follows seq %d", ErrChain, e.Seq, prevSeq)
	case !bytes.Equal(e.PrevHash, prevHash):
		return fmt.Errorf("%w: seq %d: prev_hash does not match the previous entry", ErrChain, e.Seq)
	case !bytes.Equal(e.Hash, e.ComputeHash()):
		return fmt.Errorf("%w: seq %d: hash does not match the entry", ErrChain, e.Seq)
	}
	return nil
}

// Log is an audit log in one bucket of a bbolt database. Its methods are
// safe for concurrent use (bbolt serialises the writes).
type Log struct {
	db     *bolt.DB
	bucket []byte
	now    func() time.Time
}

// Open returns the log kept in bucket of db, creating the bucket if needed.
// The caller owns db and closes it after the last use of the log. now is
// the clock (nil: time.Now).
func Open(db *bolt.DB, bucket string, now func() time.Time) (*Log, error) {
	if db == nil || bucket == "" {
		return nil, errors.New("audit: Open needs a database and a bucket name")
	}
	if now == nil {
		now = time.Now
	}
	l := &Log{db: db, bucket: []byte(bucket), now: now}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(l.bucket)
		return err
	}); err != nil {
		return nil, fmt.Errorf("audit: bucket %s: %w", bucket, err)
	}
	return l, nil
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// Append records an action, chained to the newest entry, in one
// synchronous bbolt transaction, and returns the entry as stored. actor and
// action are required; each field is at most MaxField bytes. detail is kept
// forever and exported: never pass a secret in any field.
func (l *Log) Append(actor, action, target, detail string) (Entry, error) {
	if actor == "" || action == "" {
		return Entry{}, fmt.Errorf("%w: actor and action are required", ErrInvalid)
	}
	for _, f := range []string{actor, action, target, detail} {
		if len(f) > MaxField {
			return Entry{}, fmt.Errorf("%w: field over %d bytes", ErrInvalid, MaxField)
		}
	}
	e := Entry{Time: l.now().Round(0).UTC(), Actor: actor, Action: action, Target: target, Detail: detail}
	err := l.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(l.bucket)
		if b == nil {
			return fmt.Errorf("audit: bucket %s is gone", l.bucket)
		}
		e.Seq, e.PrevHash = 1, nil
		if k, v := b.Cursor().Last(); k != nil {
			var last Entry
			if err := json.Unmarshal(v, &last); err != nil {
				return fmt.Errorf("%w: newest entry undecodable: %v", ErrChain, err)
			}
			e.Seq, e.PrevHash = last.Seq+1, last.Hash
		}
		e.Hash = e.ComputeHash()
		v, err := json.Marshal(&e)
		if err != nil {
			return err
		}
		return b.Put(seqKey(e.Seq), v)
	})
	if err != nil {
		return Entry{}, fmt.Errorf("audit: append: %w", err)
	}
	return e, nil
}

// each calls fn with every entry from fromSeq on, oldest first, in one read
// transaction, until fn returns false or an error.
func (l *Log) each(fromSeq uint64, fn func(k []byte, e *Entry) (bool, error)) error {
	return l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(l.bucket)
		if b == nil {
			return fmt.Errorf("audit: bucket %s is gone", l.bucket)
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(fromSeq)); k != nil; k, v = c.Next() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: key %x: undecodable entry: %v", ErrChain, k, err)
			}
			more, err := fn(k, &e)
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// List returns up to limit entries (limit ≤ 0: all) with Seq ≥ fromSeq,
// oldest first.
func (l *Log) List(fromSeq uint64, limit int) ([]Entry, error) {
	out := []Entry{}
	err := l.each(fromSeq, func(_ []byte, e *Entry) (bool, error) {
		out = append(out, *e)
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// Export writes the whole log to w as JSON lines, one Entry per line,
// oldest first, from one consistent read transaction. Verify checks the
// result.
func (l *Log) Export(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw) // Encode ends each entry with a newline
	if err := l.each(1, func(_ []byte, e *Entry) (bool, error) { return true, enc.Encode(e) }); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return bw.Flush()
}

// VerifyAll re-checks the stored log: keys, sequence, links and hashes. It
// returns the number of entries verified; the error wraps ErrChain where
// the chain breaks.
func (l *Log) VerifyAll() (int, error) {
	var n int
	var prevSeq uint64
	var prevHash []byte
	err := l.each(0, func(k []byte, e *Entry) (bool, error) {
		if !bytes.Equal(k, seqKey(e.Seq)) {
			return false, fmt.Errorf("%w: seq %d stored under key %x", ErrChain, e.Seq, k)
		}
		if err := chain(e, prevSeq, prevHash); err != nil {
			return false, err
		}
		n, prevSeq, prevHash = n+1, e.Seq, e.Hash
		return true, nil
	})
	return n, err
}

// Verify re-checks an export (JSON lines as written by Export) offline: it
// must start at Seq 1, run without gaps, link every entry to the one before
// and carry the right hashes. It returns the number of entries verified; an
// error wraps ErrChain and names the Seq (or the entry number, for a line
// that is not an entry) where verification stopped.
func Verify(r io.Reader) (n int, err error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	var prevSeq uint64
	var prevHash []byte
	for {
		var e Entry
		if err := dec.Decode(&e); err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, fmt.Errorf("%w: entry %d (after seq %d): %v", ErrChain, n+1, prevSeq, err)
		}
		if err := chain(&e, prevSeq, prevHash); err != nil {
			return n, err
		}
		n, prevSeq, prevHash = n+1, e.Seq, e.Hash
	}
}
