package msglog

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/tsa"
)

// Defaults applied by Open for zero Config fields.
const (
	DefaultRetention         = 365 * 24 * time.Hour
	DefaultStampInterval     = time.Minute
	DefaultStampMaxRecords   = 10000
	DefaultAcceptableFailure = 2 * time.Hour
	DefaultQueueSize         = 4096
)

// maxGroup caps the appends committed in one bbolt transaction.
const maxGroup = 1024

// Config configures a Log.
type Config struct {
	// Path is the bbolt file.
	Path string
	// Retention: records older than this are pruned, whole stamped
	// batches only (Run prunes daily). Default 365 days.
	Retention time.Duration
	// ArchiveKey, if set, is a 32-byte AES-256-GCM key: bodies passed to
	// Append are archived encrypted. Nil disables archiving.
	ArchiveKey []byte
	// SealKey, if set, is a 32-byte AES-256-GCM key that seals every
	// record's stored form (envelopes with paths, queries and user IDs,
	// parties), leaving only its hash in clear (doc.go, Sealing). Records
	// stored in clear by a log without it stay readable.
	SealKey []byte
	// StampInterval: Run seals pending records this often (default 1
	// minute)...
	StampInterval time.Duration
	// ...or as soon as StampMaxRecords are pending (default 10000); a
	// batch never holds more.
	StampMaxRecords int
	// TSAs returns the current TSA list (from the signed global
	// configuration), tried in order. Required.
	TSAs func() []TSA
	// AcceptableFailure: once the oldest unstamped record is older than
	// this, Check fails (default 2 hours). Must exceed StampInterval.
	AcceptableFailure time.Duration
	// FailOpen keeps Check nil during a long TSA outage (logged loudly).
	FailOpen bool
	// QueueSize is the number of appends waiting for the writer before
	// Append blocks (default 4096). Appends are never dropped.
	QueueSize int
	// Journal, if set, receives every append without bodies first
	// (journal.go): Durable waits for it, not for a commit of this file.
	Journal *wal.Stream
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives operational logs (default slog.Default()).
	Logger *slog.Logger
}

// TSA is one time-stamping authority. Stamper nil means
// tsa.NewClient(URL).
type TSA struct {
	Name, URL string
	Stamper   tsa.Stamper
}

func (c Config) withDefaults() Config {
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.StampInterval == 0 {
		c.StampInterval = DefaultStampInterval
	}
	if c.StampMaxRecords == 0 {
		c.StampMaxRecords = DefaultStampMaxRecords
	}
	if c.AcceptableFailure == 0 {
		c.AcceptableFailure = DefaultAcceptableFailure
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks c after applying defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Path == "":
		return fmt.Errorf("%w: Path is required", ErrConfig)
	case c.TSAs == nil:
		return fmt.Errorf("%w: TSAs is required", ErrConfig)
	case c.ArchiveKey != nil && len(c.ArchiveKey) != 32:
		return fmt.Errorf("%w: ArchiveKey must be 32 bytes, is %d", ErrConfig, len(c.ArchiveKey))
	case c.SealKey != nil && len(c.SealKey) != 32:
		return fmt.Errorf("%w: SealKey must be 32 bytes, is %d", ErrConfig, len(c.SealKey))
	case c.Retention < 0, c.StampInterval < 0, c.AcceptableFailure < 0, c.StampMaxRecords < 0, c.QueueSize < 0:
		return fmt.Errorf("%w: negative duration or size", ErrConfig)
	case c.AcceptableFailure <= c.StampInterval:
		return fmt.Errorf("%w: AcceptableFailure %s must exceed StampInterval %s", ErrConfig, c.AcceptableFailure, c.StampInterval)
	case c.Retention <= c.AcceptableFailure:
		return fmt.Errorf("%w: Retention %s must exceed AcceptableFailure %s", ErrConfig, c.Retention, c.AcceptableFailure)
	}
	return nil
}

// Bucket names.
var (
	bucketRecords = []byte("records") // seq -> stored record
	bucketIndex   = []byte("index")   // request ID 0x00 seq -> empty
	bucketBatches = []byte("batches") // first seq -> JSON batch
	bucketBodies  = []byte("bodies")  // seq -> nonce || AES-GCM(bodies)
	bucketMeta    = []byte("meta")    // "anchor" -> seq || hash
	bucketCerts   = []byte("certs")   // SHA-256 -> signer certificate (DER), kept once for every record
	keyAnchor     = []byte("anchor")
)

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func indexKey(requestID string, seq uint64) []byte {
	k := append([]byte(requestID), 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// Log is a node's message log. Its methods are safe for concurrent use.
type Log struct {
	cfg    Config
	log    *slog.Logger
	db     *bolt.DB
	aead   cipher.AEAD // nil without ArchiveKey
	sealer cipher.AEAD // nil without SealKey

	closeMu    sync.RWMutex // held shared by Append while sending
	closed     bool
	queue      chan item
	writerDone chan struct{}
	stop       chan struct{} // closed by Close: stops Run
	runWG      sync.WaitGroup
	kick       chan struct{} // StampMaxRecords pending
	writeErr   error         // last commit error, reported by Close

	stampMu sync.Mutex // one stamping pass at a time
	pruneMu sync.Mutex

	appended, committed atomic.Uint64

	mu              sync.Mutex // guards the fields below
	lastSeq         uint64     // writer's; read by stamper
	lastHash        []byte
	stampedThrough  uint64 // last seq covered by a batch (or the prune anchor)
	oldestUnstamped time.Time
	lastStamp       time.Time
	lastTSA         string
	lastTSAErr      string
}

// item is an append, or (done != nil) a flush marker.
type item struct {
	rec    Record
	bodies *Bodies
	done   chan error
	lsn    wal.LSN // in the journal, when not 0
}

// Bodies are the request and response bodies of an exchange. They are
// archived only when the log has an ArchiveKey, encrypted.
type Bodies struct{ Request, Response []byte }

// Open opens (creating if needed) the log at cfg.Path and starts its
// writer. Stamping and pruning run in Run, which the caller starts; Close
// stops both.
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := &Log{cfg: cfg, log: cfg.Logger.With("component", "msglog"), queue: make(chan item, cfg.QueueSize),
		writerDone: make(chan struct{}), stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	var err error
	if l.aead, err = newGCM(cfg.ArchiveKey); err != nil {
		return nil, err
	}
	if l.sealer, err = newGCM(cfg.SealKey); err != nil {
		return nil, err
	}
	db, err := bolt.Open(cfg.Path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("msglog: open %s: %w", cfg.Path, err)
	}
	l.db = db
	if err := l.load(); err != nil {
		db.Close()
		return nil, err
	}
	if err := l.replayJournal(); err != nil {
		db.Close()
		return nil, err
	}
	go l.writer()
	return l, nil
}

// newGCM is AES-256-GCM with key, nil without one.
func newGCM(key []byte) (cipher.AEAD, error) {
	if key == nil {
		return nil, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return g, nil
}

// load creates the buckets and restores the chain head and stamping state.
func (l *Log) load() error {
	return l.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketIndex, bucketBatches, bucketBodies, bucketMeta, bucketCerts} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		anchorSeq, anchorHash, err := readAnchor(tx)
		if err != nil {
			return err
		}
		l.lastSeq, l.lastHash = anchorSeq, anchorHash
		if k, v := tx.Bucket(bucketRecords).Cursor().Last(); k != nil {
			r, err := l.loadRecord(tx, k, v)
			if err != nil {
				return err
			}
			l.lastSeq, l.lastHash = r.Seq, r.Hash
		}
		l.stampedThrough = anchorSeq
		if k, v := tx.Bucket(bucketBatches).Cursor().Last(); k != nil {
			b, err := decodeBatch(v)
			if err != nil {
				return err
			}
			l.stampedThrough, l.lastStamp, l.lastTSA = b.Last, b.Time, b.TSA
		}
		l.appended.Store(l.lastSeq)
		l.committed.Store(l.lastSeq)
		l.oldestUnstamped = time.Time{}
		if l.lastSeq > l.stampedThrough {
			r, err := l.getRecord(tx, l.stampedThrough+1)
			if err != nil {
				return err
			}
			l.oldestUnstamped = r.Time
		}
		return nil
	})
}

// Close commits everything appended, stops the writer and Run, and closes
// the database. Pending records stay pending: the next Open stamps them.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return ErrClosed
	}
	l.closed = true
	close(l.queue)
	close(l.stop)
	l.closeMu.Unlock()
	<-l.writerDone
	l.runWG.Wait()
	l.stampMu.Lock() // a StampNow in flight finishes first
	defer l.stampMu.Unlock()
	l.pruneMu.Lock()
	defer l.pruneMu.Unlock()
	err := l.db.Close()
	return errors.Join(l.writeErr, err)
}

// Append queues r for the log. It sets r.Time from the clock; Seq,
// PrevHash and Hash are assigned by the writer in commit order, and
// Archived when bodies are archived. Append never waits for the disk or
// a TSA; it blocks only while QueueSize appends are waiting. It copies
// the slices it keeps. Use Flush to wait for the commit.
func (l *Log) Append(r Record, bodies *Bodies) error {
	if err := r.validate(); err != nil {
		return err
	}
	now := l.cfg.Now()
	r.Time = time.Unix(0, now.UnixNano()).UTC()
	r.Seq, r.PrevHash, r.Hash, r.Archived = 0, nil, nil, false
	r.Request, r.Response = clone(r.Request), clone(r.Response)
	if bodies != nil && l.aead != nil {
		bodies = &Bodies{Request: clone(bodies.Request), Response: clone(bodies.Response)}
	} else {
		bodies = nil
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	l.appended.Add(1)
	return l.enqueue(item{rec: r, bodies: bodies})
}

// Flush waits until everything appended before the call is committed
// (bbolt fsyncs every commit).
func (l *Log) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case l.queue <- item{done: done}:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return ctx.Err()
	}
	l.closeMu.RUnlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer drains the queue, committing groups of appends in one
// transaction each (group commit).
func (l *Log) writer() {
	defer close(l.writerDone)
	group := make([]item, 0, maxGroup)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for it := range l.queue {
		group = append(group[:0], it)
		// Wait up to CommitLinger for more appends, so that under load one
		// fsync covers many records and disk syncs do not compete with the
		// data path; a Flush is committed at once.
		if it.done == nil {
			linger.Reset(l.linger())
		collect:
			for len(group) < maxGroup {
				select {
				case it, ok := <-l.queue:
					if !ok {
						break collect
					}
					group = append(group, it)
					if it.done != nil {
						break collect
					}
				case <-linger.C:
					break collect
				}
			}
			linger.Stop()
		}
		// Take what else is queued, without waiting: under load many calls
		// each append and flush, and one commit answers them all.
	drain:
		for len(group) < maxGroup {
			select {
			case it, ok := <-l.queue:
				if !ok {
					break drain
				}
				group = append(group, it)
			default:
				break drain
			}
		}
		l.commitGroup(group)
	}
}

// CommitLinger is how long the writer waits for more appends before a
// commit (and its fsync); JournalLinger with a journal, which holds the
// appends meanwhile. Appends never wait for it; Flush does not either.
const (
	CommitLinger  = 10 * time.Millisecond
	JournalLinger = 250 * time.Millisecond
)

// commitGroup commits group, retrying with backoff on a storage error
// (appends are never dropped); after Close it gives up after a few
// attempts and reports the error to Close and to Flush callers.
func (l *Log) commitGroup(group []item) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := l.commit(group)
		if err == nil {
			break
		}
		l.log.Error("message log commit failed; retrying", "err", err, "records", len(group), "attempt", attempt)
		select {
		case <-l.stop:
			if attempt >= 3 {
				l.writeErr = fmt.Errorf("msglog: %d records not committed: %w", len(group), err)
				for _, it := range group {
					if it.done != nil {
						it.done <- l.writeErr
					}
				}
				return
			}
		default:
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
	for _, it := range group {
		if it.done != nil {
			it.done <- nil
		}
	}
	l.mu.Lock()
	pending := l.lastSeq - l.stampedThrough
	l.mu.Unlock()
	if pending >= uint64(l.cfg.StampMaxRecords) {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

func (l *Log) commit(group []item) error {
	l.mu.Lock()
	seq, prev := l.lastSeq, l.lastHash
	l.mu.Unlock()
	var first time.Time
	n := 0
	var lsn wal.LSN
	err := l.db.Update(func(tx *bolt.Tx) error {
		recs, idx, bodies, certs := tx.Bucket(bucketRecords), tx.Bucket(bucketIndex), tx.Bucket(bucketBodies), tx.Bucket(bucketCerts)
		// Sequence keys only ever grow: full pages, no half-empty splits.
		recs.FillPercent, bodies.FillPercent = 1.0, 1.0
		for i := range group {
			it := &group[i]
			if it.done != nil {
				continue
			}
			r := it.rec
			seq++
			r.Seq, r.PrevHash = seq, prev
			r.Archived = it.bodies != nil
			r.Hash = r.ComputeHash()
			stored, err := compactEnvelopes(certs, &r)
			if err != nil {
				return err
			}
			if err := recs.Put(seqKey(seq), l.storeRecord(stored)); err != nil {
				return err
			}
			if err := idx.Put(indexKey(r.RequestID, seq), nil); err != nil {
				return err
			}
			if r.Archived {
				if err := bodies.Put(seqKey(seq), l.seal(it.bodies, r.Hash)); err != nil {
					return err
				}
			}
			if n == 0 {
				first = r.Time
			}
			prev, lsn = r.Hash, max(lsn, it.lsn)
			n++
		}
		return putJournaled(tx, lsn)
	})
	if err != nil {
		return err
	}
	l.applied(lsn)
	l.mu.Lock()
	l.lastSeq, l.lastHash = seq, prev
	if n > 0 && l.oldestUnstamped.IsZero() {
		l.oldestUnstamped = first
	}
	l.mu.Unlock()
	l.committed.Add(uint64(n))
	return nil
}

// view runs fn in a read transaction, refusing after Close.
func (l *Log) view(fn func(*bolt.Tx) error) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	return l.db.View(fn)
}

// Records returns the committed records of requestID in Seq order (none:
// an empty slice). Appends still queued are not included; Flush first.
func (l *Log) Records(requestID string) ([]Record, error) {
	var out []Record
	err := l.view(func(tx *bolt.Tx) error {
		prefix := append([]byte(requestID), 0)
		c := tx.Bucket(bucketIndex).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if len(k) != len(prefix)+8 {
				continue
			}
			r, err := l.getRecord(tx, binary.BigEndian.Uint64(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, *r)
		}
		return nil
	})
	return out, err
}

// Record returns record seq.
func (l *Log) Record(seq uint64) (*Record, error) {
	var r *Record
	err := l.view(func(tx *bolt.Tx) (err error) {
		r, err = l.getRecord(tx, seq)
		return err
	})
	return r, err
}

// Stats describes the log's state.
type Stats struct {
	Appended        uint64    `json:"appended"`  // since Open, plus what was on disk
	Committed       uint64    `json:"committed"` // likewise
	LastSeq         uint64    `json:"last_seq"`
	Pending         uint64    `json:"pending"` // committed, not yet stamped
	OldestUnstamped time.Time `json:"oldest_unstamped,omitzero"`
	LastStamp       time.Time `json:"last_stamp,omitzero"` // genTime of the last batch token
	LastTSA         string    `json:"last_tsa,omitempty"`  // who stamped it
	LastTSAError    string    `json:"last_tsa_error,omitempty"`
}

// Stats returns the current counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Stats{Appended: l.appended.Load(), Committed: l.committed.Load(), LastSeq: l.lastSeq,
		Pending: l.lastSeq - l.stampedThrough, OldestUnstamped: l.oldestUnstamped, LastStamp: l.lastStamp,
		LastTSA: l.lastTSA, LastTSAError: l.lastTSAErr}
}

// Check returns nil, or an error wrapping ErrTimestampOutage when the
// oldest unstamped record is older than AcceptableFailure and FailOpen is
// off. The node refuses exchanges while it fails.
func (l *Log) Check() error {
	l.mu.Lock()
	oldest, lastErr := l.oldestUnstamped, l.lastTSAErr
	l.mu.Unlock()
	if oldest.IsZero() || l.cfg.FailOpen {
		return nil
	}
	if age := l.cfg.Now().Sub(oldest); age > l.cfg.AcceptableFailure {
		if lastErr == "" {
			lastErr = "none yet"
		}
		return fmt.Errorf("%w: oldest unstamped record waits for %s (acceptable %s); last TSA error: %s",
			ErrTimestampOutage, age.Round(time.Second), l.cfg.AcceptableFailure, lastErr)
	}
	return nil
}
