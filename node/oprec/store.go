package oprec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wal"
)

// Store holds a node's operational records. Its methods are safe for
// concurrent use.
type Store struct {
	cfg Config
	log *slog.Logger
	db  *bolt.DB
	m   *metrics

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	queue  chan item

	flushReq chan chan error

	dropped  atomic.Uint64
	lastWarn atomic.Int64 // unix ns of the last "dropped" warning

	quit       chan struct{}
	writerDone chan struct{}
	pruneDone  chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

type item struct {
	rec    Record
	health *HealthSample // a health sample when non-nil, else rec
	lsn    wal.LSN       // in the journal, when not 0
}

// Open opens or creates the store at cfg.Path and starts its writer and
// the background prune.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrStorage, cfg.Path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketStats, bucketHealth, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("%w: create bucket %s: %w", ErrStorage, b, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("%w: schema version %q, want %q", ErrCorrupt, v, schemaVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrStorage) {
			err = fmt.Errorf("%w: %w", ErrStorage, err)
		}
		return nil, err
	}
	s := &Store{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "oprec"),
		db:         db,
		queue:      make(chan item, cfg.QueueSize),
		flushReq:   make(chan chan error),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		pruneDone:  make(chan struct{}),
	}
	s.m = newMetrics(func() float64 { return float64(len(s.queue)) })
	for _, c := range cfg.Collectors {
		if err := s.m.reg.Register(c); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("%w: metrics: %v", ErrConfig, err)
		}
	}
	if err := s.replayJournal(); err != nil {
		_ = db.Close()
		return nil, err
	}
	go s.writer()
	go s.pruneLoop()
	return s, nil
}

// Close stops accepting items, commits what is queued, stops the
// background prune and closes the file. Later calls return the first
// call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.queue)
		s.mu.Unlock()
		close(s.quit)
		<-s.writerDone
		<-s.pruneDone
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("%w: close: %w", ErrStorage, err)
		}
	})
	return s.closeErr
}

// Add records r. It never blocks: the metrics are updated at once and the
// record is queued for the writer; when the queue is full (or the store is
// closed) the record is dropped and counted in dxl_oprec_dropped_total. A
// zero Start is set to the current time.
func (s *Store) Add(r Record) {
	if r.Start.IsZero() {
		r.Start = s.cfg.Now()
	}
	if r.Event == "" { // deliveries have their own metrics (node/delivery)
		s.m.observe(&r)
	}
	s.enqueueRecord(r)
}

// AddHealth records a level-2 health sample, with the same non-blocking
// behaviour as Add. A zero Time is set to the current time; a sample with
// an empty service name is dropped.
func (s *Store) AddHealth(h HealthSample) {
	if h.Time.IsZero() {
		h.Time = s.cfg.Now()
	}
	if h.Service == "" || strings.IndexByte(h.Service, 0) >= 0 {
		s.drop("invalid health sample: empty service or NUL in service")
		return
	}
	s.enqueue(item{health: &h})
}

func (s *Store) enqueue(it item) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		s.drop("store closed")
		return
	}
	select {
	case s.queue <- it:
		s.mu.RUnlock()
	default:
		s.mu.RUnlock()
		s.drop("queue full")
	}
}

// Dropped returns how many records and health samples were not stored.
func (s *Store) Dropped() uint64 { return s.dropped.Load() }

func (s *Store) drop(reason string) {
	s.dropAll(1, reason)
}

func (s *Store) dropAll(n int, reason string) {
	total := s.dropped.Add(uint64(n))
	s.m.dropped.Add(float64(n))
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last >= int64(s.cfg.DropWarnInterval) && s.lastWarn.CompareAndSwap(last, now) {
		s.log.Warn("operational records dropped", "reason", reason, "dropped_total", total, "queue_size", s.cfg.QueueSize)
	}
}

// Flush waits until everything added before it is committed. It returns
// the first commit failure since the previous Flush, if any. Flush does not
// use the queue, so it neither waits for queue space nor delays Add.
func (s *Store) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case s.flushReq <- done:
	case <-s.writerDone:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Metrics returns the Prometheus exposition handler for the store's own
// registry.
func (s *Store) Metrics() http.Handler { return s.m.handler() }

// writer is the one goroutine that writes: each round it commits whatever
// is queued (up to maxBatch items) in one transaction.
func (s *Store) writer() {
	defer close(s.writerDone)
	w := writerState{s: s}
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	flush := func(done chan error) {
		// Every Flush waiting now is answered by the same commits (under
		// load each call flushes: one commit answers them all).
		waiting := []chan error{done}
	more:
		for {
			select {
			case d := <-s.flushReq:
				waiting = append(waiting, d)
			default:
				break more
			}
		}
		// Everything added before those Flush calls is either committed
		// already (this goroutine is sequential) or among the n items
		// queued now.
		for n := len(s.queue); n > 0; {
			w.batch = w.batch[:0]
			for ; n > 0 && len(w.batch) < maxBatch; n-- {
				w.batch = append(w.batch, <-s.queue)
			}
			w.commit()
		}
		for _, d := range waiting {
			d <- w.failed
		}
		w.failed = nil
	}
	for {
		select {
		case it, ok := <-s.queue:
			if !ok {
				return
			}
			w.batch = append(w.batch[:0], it)
			open := true
			var pending chan error
			// Wait up to CommitLinger for more records, so one fsync
			// covers many and disk syncs do not compete with the data
			// path; a Flush cuts the wait short.
			linger.Reset(s.linger())
		drain:
			for len(w.batch) < maxBatch {
				select {
				case it, ok := <-s.queue:
					if !ok {
						open = false
						break drain
					}
					w.batch = append(w.batch, it)
				case pending = <-s.flushReq:
					break drain
				case <-linger.C:
					break drain
				}
			}
			linger.Stop()
			w.commit()
			if pending != nil {
				flush(pending)
			}
			if !open {
				return
			}
		case done := <-s.flushReq:
			flush(done)
		}
	}
}

// CommitLinger is how long the writer waits for more records before a
// commit (and its fsync); JournalLinger with a journal, which holds the
// records meanwhile.
const (
	CommitLinger  = 10 * time.Millisecond
	JournalLinger = 250 * time.Millisecond
)

type writerState struct {
	s      *Store
	batch  []item
	failed error  // first commit failure since the last Flush
	arena  []byte // keys and values of the batch being committed
}

func (w *writerState) commit() {
	n, err := w.s.commit(w.batch, &w.arena)
	if err != nil {
		w.s.log.Error("commit operational records", "err", err, "items", n)
		w.s.dropAll(n, "write failure")
		if w.failed == nil {
			w.failed = err
		}
	} else {
		w.s.m.committed.Add(float64(n))
	}
	clear(w.batch) // drop references to the records
}

// commit writes the records and health samples of batch in one
// transaction and returns how many there were.
//
// bbolt keeps references to the keys and values passed to Put until the
// transaction ends, so they are carved out of an arena that is reused
// only for the next batch (a reallocation leaves earlier slices pointing
// at the old, still valid, array).
func (s *Store) commit(batch []item, arenaBuf *[]byte) (int, error) {
	n := len(batch)
	var lsn wal.LSN
	arena := (*arenaBuf)[:0]
	carve := func(build func([]byte) []byte) []byte {
		start := len(arena)
		arena = build(arena)
		return arena[start:len(arena):len(arena)]
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		recs, stats, health := tx.Bucket(bucketRecords), tx.Bucket(bucketStats), tx.Bucket(bucketHealth)
		for i := range batch {
			it := &batch[i]
			switch {
			case it.health != nil:
				h := it.health
				kb := carve(func(b []byte) []byte { return healthKey(b, h.Service, nanos(h.Time)) })
				vb := carve(func(b []byte) []byte { return encodeHealth(b, h) })
				if err := health.Put(kb, vb); err != nil {
					return err
				}
			default:
				r := &it.rec
				kb := carve(func(b []byte) []byte { return recordKey(b, r) })
				if old := recs.Get(kb); old != nil {
					if o, err := decodeRecord(kb, old); err == nil {
						if err := addStats(stats, &o, -1); err != nil {
							return err
						}
					}
				}
				vb := carve(func(b []byte) []byte { return encodeRecord(b, r) })
				if err := recs.Put(kb, vb); err != nil {
					return err
				}
				if err := addStats(stats, r, 1); err != nil {
					return err
				}
				lsn = max(lsn, it.lsn)
			}
		}
		return putJournaled(tx, lsn)
	})
	if err != nil {
		err = fmt.Errorf("%w: commit: %w", ErrStorage, err)
	} else {
		s.applied(lsn)
	}
	*arenaBuf = arena
	return n, err
}

// addStats adds sign times r's contribution to its member's day.
func addStats(b *bolt.Bucket, r *Record, sign int64) error {
	var c counts
	switch r.Role {
	case RoleConsumer:
		c.made = sign
	case RoleProvider:
		c.served = sign
	default:
		return nil
	}
	if r.Failed() {
		c.errors = sign
	}
	k := statsKey(day(r.Start), Member(r.Client))
	if v := b.Get(k); v != nil {
		old, err := decodeCounts(v)
		if err == nil {
			c.made += old.made
			c.served += old.served
			c.errors += old.errors
		}
	}
	return b.Put(k, c.encode())
}

// pruneLoop prunes at start and then every PruneInterval until Close.
func (s *Store) pruneLoop() {
	defer close(s.pruneDone)
	if s.cfg.PruneInterval < 0 {
		return
	}
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		now := s.cfg.Now()
		if recs, health, err := s.prune(now, s.quit); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Error("prune operational records", "err", err)
		} else if recs+health > 0 {
			s.log.Info("pruned operational records", "records", recs, "health_samples", health)
		}
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}
