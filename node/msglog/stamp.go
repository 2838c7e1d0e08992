package msglog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/tsa"
)

// batch is one time-stamped Merkle tree over records First..Last.
type batch struct {
	First uint64    `json:"first"`
	Last  uint64    `json:"last"`
	Root  []byte    `json:"root"`
	Token []byte    `json:"token"` // DER TimeStampResp
	Time  time.Time `json:"time"`  // the token's genTime
	TSA   string    `json:"tsa"`   // name of the TSA that stamped it
}

func decodeBatch(v []byte) (*batch, error) {
	var b batch
	if err := json.Unmarshal(v, &b); err != nil || b.First == 0 || b.Last < b.First {
		return nil, fmt.Errorf("%w: batch", ErrCorrupt)
	}
	return &b, nil
}

// batchOf returns the batch holding seq, or nil.
func batchOf(tx *bolt.Tx, seq uint64) (*batch, error) {
	c := tx.Bucket(bucketBatches).Cursor()
	k, v := c.Seek(seqKey(seq))
	if k == nil || binary.BigEndian.Uint64(k) != seq {
		k, v = c.Prev()
	}
	if k == nil {
		return nil, nil
	}
	b, err := decodeBatch(v)
	if err != nil || seq < b.First || seq > b.Last {
		return nil, err
	}
	return b, nil
}

// leaves returns the Merkle leaf hashes of records first..last.
func leaves(tx *bolt.Tx, first, last uint64) ([][]byte, error) {
	out := make([][]byte, 0, last-first+1)
	c := tx.Bucket(bucketRecords).Cursor()
	seq := first
	for k, v := c.Seek(seqKey(first)); k != nil && seq <= last; k, v = c.Next() {
		if binary.BigEndian.Uint64(k) != seq || len(v) < sha256.Size {
			return nil, fmt.Errorf("%w: record %d missing from batch", ErrCorrupt, seq)
		}
		out = append(out, tsa.LeafHash(v[len(v)-sha256.Size:]))
		seq++
	}
	if seq != last+1 {
		return nil, fmt.Errorf("%w: records %d..%d missing", ErrCorrupt, seq, last)
	}
	return out, nil
}

// StampNow seals every committed record that is not yet stamped, in
// batches of at most StampMaxRecords, and returns when all are stamped
// or a batch could not be (error wrapping ErrTimestampOutage). Appends
// still queued are not included; Flush first.
func (l *Log) StampNow(ctx context.Context) error {
	l.stampMu.Lock()
	defer l.stampMu.Unlock()
	l.closeMu.RLock()
	closed := l.closed
	l.closeMu.RUnlock()
	if closed {
		return ErrClosed
	}
	for {
		l.mu.Lock()
		from, to := l.stampedThrough+1, l.lastSeq
		l.mu.Unlock()
		if from > to {
			return nil
		}
		to = min(to, from+uint64(l.cfg.StampMaxRecords)-1)
		if err := l.stampBatch(ctx, from, to); err != nil {
			return err
		}
	}
}

func (l *Log) stampBatch(ctx context.Context, from, to uint64) error {
	var lv [][]byte
	if err := l.db.View(func(tx *bolt.Tx) (err error) {
		lv, err = leaves(tx, from, to)
		return err
	}); err != nil {
		return err
	}
	root := tsa.Root(lv)
	token, genTime, name, err := l.stampRoot(ctx, root)
	if err != nil {
		l.mu.Lock()
		l.lastTSAErr = err.Error()
		oldest := l.oldestUnstamped
		l.mu.Unlock()
		age := l.cfg.Now().Sub(oldest)
		switch {
		case age <= l.cfg.AcceptableFailure:
			l.log.Warn("time-stamping failed; records stay pending", "err", err, "pending_from", from, "oldest_age", age.Round(time.Second))
		case l.cfg.FailOpen:
			l.log.Error("TIME-STAMPING OUTAGE beyond the acceptable failure period; exchanges continue (fail-open)",
				"err", err, "oldest_age", age.Round(time.Second), "acceptable", l.cfg.AcceptableFailure)
		default:
			l.log.Error("TIME-STAMPING OUTAGE beyond the acceptable failure period; exchanges are refused",
				"err", err, "oldest_age", age.Round(time.Second), "acceptable", l.cfg.AcceptableFailure)
		}
		return err
	}
	b := batch{First: from, Last: to, Root: root, Token: token, Time: genTime, TSA: name}
	v, _ := json.Marshal(b)
	if err := l.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBatches).Put(seqKey(from), v)
	}); err != nil {
		return fmt.Errorf("msglog: storing batch %d..%d: %w", from, to, err)
	}
	l.mu.Lock()
	l.stampedThrough, l.lastStamp, l.lastTSA, l.lastTSAErr = to, genTime, name, ""
	if l.lastSeq <= to {
		l.oldestUnstamped = time.Time{} // the writer sets it again on its next commit
		l.mu.Unlock()
	} else {
		l.mu.Unlock()
		var next *Record
		if err := l.db.View(func(tx *bolt.Tx) (err error) {
			next, err = l.getRecord(tx, to+1)
			return err
		}); err != nil {
			return err
		}
		l.mu.Lock()
		l.oldestUnstamped = next.Time
		l.mu.Unlock()
	}
	l.log.Debug("batch time-stamped", "first", from, "last", to, "tsa", name, "gen_time", genTime)
	return nil
}

// stampRoot has the first TSA that can time-stamp root do so. The token
// is returned wrapped in a granted TimeStampResp.
func (l *Log) stampRoot(ctx context.Context, root []byte) (resp []byte, genTime time.Time, name string, err error) {
	tsas := l.cfg.TSAs()
	if len(tsas) == 0 {
		return nil, time.Time{}, "", fmt.Errorf("%w: no TSA configured", ErrTimestampOutage)
	}
	var errs []string
	for _, t := range tsas {
		s := t.Stamper
		if s == nil {
			s = tsa.NewClient(t.URL)
		}
		name := t.Name
		if name == "" {
			name = t.URL
		}
		token, err := s.Stamp(ctx, root)
		if err == nil {
			resp, genTime, err = checkToken(token, root)
		}
		if err != nil {
			l.log.Warn("TSA failed", "tsa", name, "err", err)
			errs = append(errs, name+": "+err.Error())
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return resp, genTime, name, nil
	}
	return nil, time.Time{}, "", fmt.Errorf("%w: every TSA failed: %s", ErrTimestampOutage, strings.Join(errs, "; "))
}

// checkToken checks that token (a TimeStampToken or TimeStampResp)
// certifies root with SHA-256, and returns it as a TimeStampResp. Whether
// the TSA is trusted is the verifier's business.
func checkToken(token, root []byte) ([]byte, time.Time, error) {
	info, err := tsa.ParseToken(token)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !bytes.Equal(info.HashedMessage, root) || info.Hash.Size() != sha256.Size {
		return nil, time.Time{}, fmt.Errorf("%w: token certifies another digest", tsa.ErrImprint)
	}
	resp, err := asn1.Marshal(struct {
		Status struct{ Status int }
		Token  asn1.RawValue
	}{Token: asn1.RawValue{FullBytes: info.Token}})
	if err != nil {
		return nil, time.Time{}, err
	}
	return resp, info.Time, nil
}

// Run stamps pending records every StampInterval (sooner when
// StampMaxRecords are pending; after a failure it retries with
// exponential backoff from one second, capped at StampInterval) and
// prunes records older than Retention at start and daily. It returns when
// ctx is done or the log is closed.
func (l *Log) Run(ctx context.Context) {
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return
	}
	l.runWG.Add(1)
	l.closeMu.RUnlock()
	defer l.runWG.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-l.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	prune := func() {
		if n, err := l.Prune(l.cfg.Now().Add(-l.cfg.Retention)); err != nil {
			l.log.Error("pruning failed", "err", err)
		} else if n > 0 {
			l.log.Info("pruned records", "records", n)
		}
	}
	prune()
	pruneTicker := time.NewTicker(24 * time.Hour)
	defer pruneTicker.Stop()
	minBackoff := min(time.Second, l.cfg.StampInterval)
	backoff := minBackoff
	timer := time.NewTimer(l.cfg.StampInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-pruneTicker.C:
			prune()
			continue
		case <-l.kick:
		case <-timer.C:
		}
		wait := l.cfg.StampInterval
		if err := l.StampNow(ctx); err != nil && ctx.Err() == nil {
			wait, backoff = backoff, min(2*backoff, l.cfg.StampInterval)
		} else {
			backoff = minBackoff
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// Prune deletes whole stamped batches, oldest first, whose records are
// all older than before, with their index entries and archived bodies,
// and records the last deleted record's seq and hash as the chain anchor.
// It stops at the first batch that must stay, so what remains is always
// a contiguous suffix of the chain. It returns the records deleted.
func (l *Log) Prune(before time.Time) (int, error) {
	l.pruneMu.Lock()
	defer l.pruneMu.Unlock()
	total := 0
	for {
		n, err := l.pruneOne(before)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// pruneOne deletes the oldest batch if it may go, in one transaction.
func (l *Log) pruneOne(before time.Time) (int, error) {
	n := 0
	err := l.update(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bucketBatches).Cursor().First()
		if k == nil {
			return nil
		}
		b, err := decodeBatch(v)
		if err != nil {
			return err
		}
		recs := make([]*Record, 0, b.Last-b.First+1)
		for seq := b.First; seq <= b.Last; seq++ {
			r, err := l.getRecord(tx, seq)
			if err != nil {
				return err
			}
			if !r.Time.Before(before) {
				return nil // keep this batch and everything after it
			}
			recs = append(recs, r)
		}
		for _, r := range recs {
			key := seqKey(r.Seq)
			for _, del := range []struct {
				b []byte
				k []byte
			}{{bucketRecords, key}, {bucketBodies, key}, {bucketIndex, indexKey(r.RequestID, r.Seq)}} {
				if err := tx.Bucket(del.b).Delete(del.k); err != nil {
					return err
				}
			}
		}
		if err := tx.Bucket(bucketBatches).Delete(k); err != nil {
			return err
		}
		last := recs[len(recs)-1]
		n = len(recs)
		return tx.Bucket(bucketMeta).Put(keyAnchor, append(seqKey(last.Seq), last.Hash...))
	})
	return n, err
}

// update runs fn in a write transaction, refusing after Close.
func (l *Log) update(fn func(*bolt.Tx) error) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.Update(fn)
}

// VerifyChain walks the committed records from the prune anchor to the
// last: seqs contiguous, each PrevHash the previous Hash, each Hash
// recomputed; then recomputes every batch's Merkle root from the stored
// hashes. It returns the number of records checked, and an error wrapping
// ErrChain on any mismatch.
func (l *Log) VerifyChain() (int, error) {
	n := 0
	err := l.view(func(tx *bolt.Tx) error {
		seq, prev, err := readAnchor(tx)
		if err != nil {
			return err
		}
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			seq++
			if len(k) != 8 || binary.BigEndian.Uint64(k) != seq {
				return fmt.Errorf("%w: expected record %d, found key %x", ErrChain, seq, k)
			}
			r, err := l.loadRecord(tx, k, v)
			if err != nil {
				return fmt.Errorf("%w: record %d: %w", ErrChain, seq, err)
			}
			if r.Seq != seq || !bytes.Equal(r.PrevHash, prev) {
				return fmt.Errorf("%w: record %d does not link to its predecessor", ErrChain, seq)
			}
			if !bytes.Equal(r.ComputeHash(), r.Hash) {
				return fmt.Errorf("%w: record %d hash does not recompute", ErrChain, seq)
			}
			prev = r.Hash
			n++
		}
		bc := tx.Bucket(bucketBatches).Cursor()
		for k, v := bc.First(); k != nil; k, v = bc.Next() {
			b, err := decodeBatch(v)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrChain, err)
			}
			lv, err := leaves(tx, b.First, b.Last)
			if err != nil {
				return fmt.Errorf("%w: batch %d..%d: %w", ErrChain, b.First, b.Last, err)
			}
			if !bytes.Equal(tsa.Root(lv), b.Root) {
				return fmt.Errorf("%w: batch %d..%d Merkle root does not recompute", ErrChain, b.First, b.Last)
			}
		}
		return nil
	})
	return n, err
}

func readAnchor(tx *bolt.Tx) (uint64, []byte, error) {
	v := tx.Bucket(bucketMeta).Get(keyAnchor)
	if v == nil {
		return 0, make([]byte, sha256.Size), nil
	}
	if len(v) != 8+sha256.Size {
		return 0, nil, fmt.Errorf("%w: anchor", ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), clone(v[8:]), nil
}
