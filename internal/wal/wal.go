package wal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what Durable waits for (package doc, "What survives what").
type Mode int

const (
	// SyncEach: Durable returns once an fdatasync covers the entry.
	SyncEach Mode = iota
	// SyncInterval: Durable returns at once; the journal is synced every
	// Config.Interval.
	SyncInterval
)

// Mode names in configuration files.
const (
	ModeDisk    = "disk"    // SyncEach
	ModeProcess = "process" // SyncInterval
)

// ParseMode reads a mode name: "disk" (also "") or "process".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", ModeDisk:
		return SyncEach, nil
	case ModeProcess:
		return SyncInterval, nil
	}
	return 0, fmt.Errorf("%w: durability %q: want %q or %q", ErrConfig, s, ModeDisk, ModeProcess)
}

// Sentinel errors.
var (
	ErrConfig   = errors.New("wal: invalid configuration")
	ErrClosed   = errors.New("wal: closed")
	ErrCorrupt  = errors.New("wal: corrupt journal")
	ErrTooLarge = errors.New("wal: entry too large")
)

// LSN is an entry's log sequence number, from 1, consecutive.
type LSN = uint64

// Config configures Open.
type Config struct {
	Dir          string        // the journal's directory, created if missing
	Mode         Mode          // SyncEach by default
	Interval     time.Duration // SyncInterval's fdatasync period; default 10 ms
	SegmentBytes int64         // a new segment starts past this size; default 16 MiB
	MaxEntry     int           // largest payload; default 16 MiB
	Logger       *slog.Logger
}

// Validate reports a configuration Open cannot use.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: no directory", ErrConfig)
	case c.Mode != SyncEach && c.Mode != SyncInterval:
		return fmt.Errorf("%w: mode %d", ErrConfig, c.Mode)
	case c.Interval < 0 || c.SegmentBytes < 0 || c.MaxEntry < 0:
		return fmt.Errorf("%w: negative interval or size", ErrConfig)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Interval == 0 {
		c.Interval = 10 * time.Millisecond
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = 16 << 20
	}
	if c.MaxEntry == 0 {
		c.MaxEntry = 16 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Log is an open journal. Its methods are safe for concurrent use.
type Log struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	f       *os.File   // the current segment, appended to
	size    int64      // of f
	segs    []*segment // oldest first; the last is f's
	retired []*os.File // synced segments, closed by the syncer
	next    LSN
	synced  LSN
	err     error // sticky: a failed write or sync
	closed  bool
	applied map[byte]LSN
	waiters []waiter
	buf     []byte

	syncs atomic.Uint64 // fdatasyncs run

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

type waiter struct {
	lsn LSN
	ch  chan error
}

// Open opens the journal in cfg.Dir (package doc, "Files"): it checks
// every segment, cuts a torn entry off the end of the last, and starts
// the syncer. Close it after the stores that use it.
func Open(cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	l := &Log{cfg: cfg, log: cfg.Logger.With("component", "wal"), next: 1, applied: map[byte]LSN{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.load(); err != nil {
		return nil, err
	}
	l.synced = l.next - 1
	go l.syncer()
	return l, nil
}

// Append writes payload on stream and returns its LSN; the bytes are
// with the operating system when it returns (Durable for more). A store
// that needs its entries in LSN order calls Append and queues the entry
// under one lock of its own.
func (l *Log) Append(stream byte, payload []byte) (LSN, error) {
	if len(payload) > l.cfg.MaxEntry {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(payload), l.cfg.MaxEntry)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return 0, ErrClosed
	case l.err != nil:
		return 0, l.err
	}
	if l.size >= l.cfg.SegmentBytes {
		if err := l.rotate(); err != nil {
			l.err = err
			return 0, err
		}
	}
	lsn := l.next
	l.buf = appendEntry(l.buf[:0], stream, lsn, payload)
	n, err := l.f.Write(l.buf)
	l.size += int64(n)
	if err != nil {
		// A partial entry ends the segment: nothing is appended after it.
		l.err = fmt.Errorf("wal: write: %w", err)
		return 0, l.err
	}
	l.next++
	seg := l.segs[len(l.segs)-1]
	seg.last, seg.streams[stream] = lsn, lsn
	return lsn, nil
}

// Durable waits until the entry lsn (and all before it) is as safe as
// the journal's mode promises.
func (l *Log) Durable(ctx context.Context, lsn LSN) error {
	l.mu.Lock()
	if l.err != nil || l.synced >= lsn || l.cfg.Mode == SyncInterval && lsn < l.next {
		err := l.err
		l.mu.Unlock()
		return err
	}
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	ch := make(chan error, 1)
	l.waiters = append(l.waiters, waiter{lsn: lsn, ch: ch})
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Last is the LSN of the newest entry (0 when there is none).
func (l *Log) Last() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

// Applied records that stream's store has committed its entries through
// lsn; segments every stream has applied are removed.
func (l *Log) Applied(stream byte, lsn LSN) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lsn <= l.applied[stream] {
		return
	}
	l.applied[stream] = lsn
	for len(l.segs) > 1 && l.removable(l.segs[0]) {
		if err := os.Remove(l.segs[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("journal segment not removed", "path", l.segs[0].path, "error", err)
			return
		}
		l.segs = l.segs[1:]
	}
}

// removable reports whether every stream of seg has applied it.
func (l *Log) removable(seg *segment) bool {
	if seg.last > l.synced {
		return false
	}
	for s, last := range seg.streams {
		if l.applied[s] < last {
			return false
		}
	}
	return true
}

// Close syncs, stops the syncer and closes the files. Waiters get
// ErrClosed if their entry was not synced.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.waiters {
		w.ch <- ErrClosed
	}
	l.waiters = nil
	return errors.Join(l.err, l.f.Close())
}

// syncer runs the fdatasyncs: on demand (Durable) and, in SyncInterval
// mode, every Interval.
func (l *Log) syncer() {
	defer close(l.done)
	var tick <-chan time.Time
	if l.cfg.Mode == SyncInterval {
		t := time.NewTicker(l.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-l.kick:
		case <-tick:
		case <-l.stop:
			l.syncOnce()
			return
		}
		l.syncOnce()
	}
}

// syncOnce syncs what is written and answers the waiters it covers. One
// fdatasync answers every Durable waiting when it starts.
func (l *Log) syncOnce() {
	l.mu.Lock()
	for _, f := range l.retired {
		_ = f.Close()
	}
	l.retired = nil
	target, f := l.next-1, l.f
	if target == l.synced || l.err != nil {
		l.answer()
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	err := fdatasync(f)
	l.syncs.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil && l.err == nil:
		l.err = fmt.Errorf("wal: sync: %w", err)
		l.log.Error("journal sync failed; calls are refused until the node restarts", "error", err)
	case target > l.synced:
		l.synced = target
	}
	l.answer()
}

// answer wakes the waiters whose entries are synced (all, on an error).
// l.mu is held.
func (l *Log) answer() {
	l.waiters = slices.DeleteFunc(l.waiters, func(w waiter) bool {
		if l.err == nil && w.lsn > l.synced {
			return false
		}
		w.ch <- l.err
		return true
	})
}

// rotate syncs and retires the current segment and starts the next one.
// l.mu is held.
func (l *Log) rotate() error {
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("wal: sync: %w", err)
	}
	l.synced = l.next - 1
	l.answer()
	l.retired = append(l.retired, l.f)
	return l.create(l.next)
}

// create starts a segment whose first entry will be first. l.mu is held.
func (l *Log) create(first LSN) error {
	path := filepath.Join(l.cfg.Dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, 0
	l.segs = append(l.segs, &segment{first: first, last: first - 1, path: path, streams: map[byte]LSN{}})
	return nil
}
