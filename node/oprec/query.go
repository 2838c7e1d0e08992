package oprec

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// view runs fn in a read transaction, translating a closed database.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	err := s.db.View(fn)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolt.ErrDatabaseNotOpen):
		return ErrClosed
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrBadFilter):
		return err
	}
	return fmt.Errorf("%w: %w", ErrStorage, err)
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Validate checks f: Limit and Status not negative, From not after To,
// Role known, Cursor well formed. Every error wraps ErrBadFilter.
func (f Filter) Validate() error {
	_, err := f.cursorKey()
	return err
}

func (f Filter) cursorKey() ([]byte, error) {
	switch {
	case f.Limit < 0:
		return nil, fmt.Errorf("%w: negative limit %d", ErrBadFilter, f.Limit)
	case f.Status < 0:
		return nil, fmt.Errorf("%w: negative status %d", ErrBadFilter, f.Status)
	case !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To):
		return nil, fmt.Errorf("%w: from %s is after to %s", ErrBadFilter, f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	case f.Role != "" && f.Role != RoleConsumer && f.Role != RoleProvider && f.Role != RoleSender && f.Role != RoleRecipient:
		return nil, fmt.Errorf("%w: role %q (want %q, %q, %q or %q)", ErrBadFilter, f.Role, RoleConsumer, RoleProvider, RoleSender, RoleRecipient)
	case f.Cursor == "":
		return nil, nil
	}
	return decodeCursor(f.Cursor)
}

// Query returns the records matching f, ordered by start time then request
// ID, and the cursor of the next page ("" when there is none). A page holds
// at most f.Limit records; it may hold fewer with a non-empty cursor when
// the scan budget (MaxScan) ran out. Records that do not decode are
// skipped and logged.
func (s *Store) Query(f Filter) ([]Record, string, error) {
	after, err := f.cursorKey()
	if err != nil {
		return nil, "", err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var seek []byte
	if !f.From.IsZero() {
		seek = putTime(nil, nanos(f.From))
	}
	if after != nil && bytes.Compare(after, seek) >= 0 {
		seek = after
	} else {
		after = nil
	}
	var toKey []byte
	if !f.To.IsZero() {
		toKey = putTime(nil, nanos(f.To))
	}
	var (
		recs []Record
		next string
	)
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecords).Cursor()
		var k, v []byte
		if seek == nil {
			k, v = c.First()
		} else {
			k, v = c.Seek(seek)
		}
		if after != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
		var last []byte // key of the last record examined
		for scanned := 0; k != nil; k, v = c.Next() {
			if toKey != nil && bytes.Compare(k[:min(len(k), timeLen)], toKey) >= 0 {
				return nil
			}
			if scanned == MaxScan {
				if last != nil {
					next = encodeCursor(last)
				}
				return nil
			}
			scanned++
			last = k
			r, err := decodeRecord(k, v)
			if err != nil {
				s.log.Warn("skipping undecodable operational record", "err", err)
				continue
			}
			if !f.match(&r) {
				continue
			}
			if len(recs) == limit {
				// There is at least one more match: hand out a cursor
				// at the last record returned.
				next = encodeCursor(recordKey(nil, &recs[len(recs)-1]))
				return nil
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return recs, next, nil
}

// Stats returns per-member counts for each UTC day overlapping [from, to),
// ordered by day then member. A zero from or to leaves that end open.
func (s *Store) Stats(from, to time.Time) ([]MemberStats, error) {
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return nil, fmt.Errorf("%w: from %s is after to %s", ErrBadFilter, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if !from.IsZero() && !to.IsZero() && from.Equal(to) {
		return nil, nil
	}
	first, last := "", ""
	if !from.IsZero() {
		first = day(from)
	}
	if !to.IsZero() {
		last = day(to.Add(-time.Nanosecond))
	}
	var out []MemberStats
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketStats).Cursor()
		for k, v := c.Seek([]byte(first)); k != nil; k, v = c.Next() {
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				s.log.Warn("skipping undecodable stats key", "key", fmt.Sprintf("%q", k))
				continue
			}
			d := string(k[:i])
			if last != "" && d > last {
				return nil
			}
			cs, err := decodeCounts(v)
			if err != nil {
				s.log.Warn("skipping undecodable stats value", "err", err)
				continue
			}
			out = append(out, MemberStats{Day: d, Member: string(k[i+1:]), Made: cs.made, Served: cs.served, Errors: cs.errors})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Health history limits.
const (
	DefaultHealthLimit = 1000
	MaxHealthLimit     = 100000
)

// HealthHistory returns the most recent limit health samples of service
// with a time in [from, to), oldest first. An empty service means every
// service. A zero from or to leaves that end open; limit 0 means
// DefaultHealthLimit and larger than MaxHealthLimit is capped.
func (s *Store) HealthHistory(service string, from, to time.Time, limit int) ([]HealthSample, error) {
	switch {
	case limit < 0:
		return nil, fmt.Errorf("%w: negative limit %d", ErrBadFilter, limit)
	case !from.IsZero() && !to.IsZero() && from.After(to):
		return nil, fmt.Errorf("%w: from %s is after to %s", ErrBadFilter, from.Format(time.RFC3339), to.Format(time.RFC3339))
	case limit == 0:
		limit = DefaultHealthLimit
	case limit > MaxHealthLimit:
		limit = MaxHealthLimit
	}
	fromNs, toNs := nanos(from), nanos(to)
	if from.IsZero() {
		fromNs = nanos(minTime)
	}
	if to.IsZero() {
		toNs = nanos(maxTime)
	}
	var out []HealthSample
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHealth).Cursor()
		if service != "" {
			out = s.healthOf(c, []byte(service), fromNs, toNs, limit, out)
			return nil
		}
		for k, _ := c.First(); k != nil; {
			svc, _, err := parseHealthKey(k)
			if err != nil {
				k, _ = c.Next()
				continue
			}
			svc = bytes.Clone(svc)
			out = s.healthOf(c, svc, fromNs, toNs, limit, out)
			k, _ = c.Seek(append(svc, 1))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b HealthSample) int { return a.Time.Compare(b.Time) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// healthOf appends the newest limit samples of svc in [fromNs, toNs),
// oldest first.
func (s *Store) healthOf(c *bolt.Cursor, svc []byte, fromNs, toNs int64, limit int, out []HealthSample) []HealthSample {
	upper := healthKey(nil, string(svc), toNs)
	k, v := c.Seek(upper)
	if k == nil {
		k, v = c.Last()
	}
	if k != nil && bytes.Compare(k, upper) >= 0 {
		k, v = c.Prev()
	}
	start := len(out)
	prefix := append(bytes.Clone(svc), 0)
	for ; k != nil && len(out)-start < limit; k, v = c.Prev() {
		if !bytes.HasPrefix(k, prefix) || len(k) != len(prefix)+timeLen {
			break
		}
		h, err := decodeHealth(k, v)
		if err != nil {
			s.log.Warn("skipping undecodable health sample", "err", err)
			continue
		}
		if nanos(h.Time) < fromNs {
			break
		}
		out = append(out, h)
	}
	slices.Reverse(out[start:])
	return out
}

// pruneChunk is how many keys one prune transaction deletes at most, so a
// large prune does not hold the write lock for long.
const pruneChunk = 10000

// Prune deletes records that started before now-Retention, statistics of
// days before that day, and health samples older than now-HealthRetention.
// It returns how many records and health samples it deleted.
func (s *Store) Prune(now time.Time) (records, health int, err error) {
	return s.prune(now, nil)
}

func (s *Store) prune(now time.Time, stop <-chan struct{}) (records, health int, err error) {
	if s.isClosed() {
		return 0, 0, ErrClosed
	}
	recCut := nanos(now.Add(-s.cfg.Retention))
	healthCut := nanos(now.Add(-s.cfg.HealthRetention))
	statsCut := []byte(day(now.Add(-s.cfg.Retention)))
	recCutKey := putTime(nil, recCut)

	// chunked runs del until it deletes fewer than pruneChunk keys.
	chunked := func(bucket []byte, collect func(c *bolt.Cursor) [][]byte) (int, error) {
		total := 0
		for {
			select {
			case <-stop:
				return total, nil
			default:
			}
			n := 0
			err := s.db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bucket)
				keys := collect(b.Cursor())
				for _, k := range keys {
					if err := b.Delete(k); err != nil {
						return err
					}
				}
				n = len(keys)
				return nil
			})
			if err != nil {
				if errors.Is(err, bolt.ErrDatabaseNotOpen) {
					return total, ErrClosed
				}
				return total, fmt.Errorf("%w: prune %s: %w", ErrStorage, bucket, err)
			}
			total += n
			if n < pruneChunk {
				return total, nil
			}
		}
	}
	records, err = chunked(bucketRecords, func(c *bolt.Cursor) [][]byte {
		var keys [][]byte
		for k, _ := c.First(); k != nil && len(keys) < pruneChunk && bytes.Compare(k, recCutKey) < 0; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		return keys
	})
	if err != nil {
		return records, 0, err
	}
	if _, err = chunked(bucketStats, func(c *bolt.Cursor) [][]byte {
		var keys [][]byte
		for k, _ := c.First(); k != nil && len(keys) < pruneChunk && bytes.Compare(k, statsCut) < 0; k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		return keys
	}); err != nil {
		return records, 0, err
	}
	health, err = chunked(bucketHealth, func(c *bolt.Cursor) [][]byte {
		var keys [][]byte
		for k, _ := c.First(); k != nil && len(keys) < pruneChunk; {
			svc, ns, perr := parseHealthKey(k)
			switch {
			case perr != nil:
				k, _ = c.Next()
			case ns < healthCut:
				keys = append(keys, bytes.Clone(k))
				k, _ = c.Next()
			default:
				// The rest of this service is newer: skip to the next.
				k, _ = c.Seek(append(bytes.Clone(svc), 1))
			}
		}
		return keys
	})
	return records, health, err
}
