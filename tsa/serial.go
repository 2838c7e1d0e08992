package tsa

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultSerialBlock is how many serial numbers Serials reserves per
// durable write.
const DefaultSerialBlock = 1024

var (
	serialBucket = []byte("serials")
	serialKey    = []byte("next")
)

// Serials hands out strictly increasing token serial numbers that survive
// restarts without an fsync per token.
//
// The bbolt file holds a high-water mark: no serial at or above it has
// been handed out. Next serves from memory below the mark; once half a
// block is left it commits mark+block in the background (one fsync per
// block, off the request path) and raises the in-memory limit only after
// that commit. After a crash the process resumes at the persisted mark, so
// serials skip the unused part of the reservation (RFC 3161 allows gaps)
// but are never reused and never decrease. Close writes back the exact
// next serial, so a clean restart leaves no gap. Serials is safe for
// concurrent use; bbolt's file lock keeps a second process off the file.
type Serials struct {
	mu        sync.Mutex
	reserved  *sync.Cond // broadcast when a reservation ends
	db        *bolt.DB
	next      uint64 // next serial to hand out
	limit     uint64 // durable high-water mark; next < limit to serve
	block     uint64
	reserving bool
	err       error // failure of the last reservation, for the waiters
	closed    bool
	wg        sync.WaitGroup
}

// OpenSerials opens or creates the serial database at path. blockSize <= 0
// means DefaultSerialBlock.
func OpenSerials(path string, blockSize int) (*Serials, error) {
	if blockSize <= 0 {
		blockSize = DefaultSerialBlock
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("tsa: open serial store %s: %w", path, err)
	}
	s := &Serials{db: db, block: uint64(blockSize)}
	s.reserved = sync.NewCond(&s.mu)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(serialBucket)
		if err != nil {
			return err
		}
		s.next = 1 // serials start at 1
		if v := b.Get(serialKey); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("tsa: serial store %s: corrupt high-water mark", path)
			}
			s.next = binary.BigEndian.Uint64(v)
		}
		if s.next > math.MaxUint64-s.block {
			return errors.New("tsa: serial numbers exhausted")
		}
		s.limit = s.next + s.block // first block, in the same commit
		return b.Put(serialKey, be64(s.limit))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("tsa: serial store %s: %w", path, err)
	}
	return s, nil
}

// Next returns the next serial number.
func (s *Serials) Next() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return 0, ErrClosed
		}
		if s.next < s.limit {
			n := s.next
			s.next++
			if !s.reserving && s.limit-s.next <= s.block/2 {
				s.reserve()
			}
			return n, nil
		}
		if !s.reserving {
			if err := s.err; err != nil { // the last attempt failed: report, retry next call
				s.err = nil
				return 0, err
			}
			s.reserve()
		}
		s.reserved.Wait()
	}
}

// reserve commits limit+block in the background. Called with mu held.
func (s *Serials) reserve() {
	if s.limit > math.MaxUint64-s.block {
		s.err = errors.New("tsa: serial numbers exhausted")
		return
	}
	target := s.limit + s.block
	s.reserving = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.persist(target)
		s.mu.Lock()
		s.reserving = false
		if err != nil {
			s.err = err
		} else if target > s.limit {
			s.limit = target
		}
		s.reserved.Broadcast()
		s.mu.Unlock()
	}()
}

// HighWater returns the durable mark: every serial handed out so far is
// below it, and a restart after a crash resumes from it.
func (s *Serials) HighWater() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit
}

// Close waits for a pending reservation, records the exact next serial
// (so a clean restart has no gap) and closes the database. Next fails
// with ErrClosed afterwards.
func (s *Serials) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	next := s.next
	s.reserved.Broadcast()
	s.mu.Unlock()
	s.wg.Wait()
	err := s.persist(next)
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Serials) persist(mark uint64) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(serialBucket).Put(serialKey, be64(mark))
	})
	if err != nil {
		return fmt.Errorf("tsa: persist serial high-water mark: %w", err)
	}
	return nil
}

func be64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}
