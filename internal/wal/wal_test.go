package wal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func open(t testing.TB, dir string, mut ...func(*Config)) *Log {
	t.Helper()
	cfg := Config{Dir: dir}
	for _, m := range mut {
		m(&cfg)
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func replayAll(t *testing.T, l *Log, stream byte, after LSN) map[LSN]string {
	t.Helper()
	got := map[LSN]string{}
	if err := l.Replay(stream, after, func(lsn LSN, p []byte) error { got[lsn] = string(p); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAppendReplayAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	for i := range 10 {
		lsn, err := l.Append(byte(i%2), fmt.Appendf(nil, "entry %d", i))
		if err != nil || lsn != LSN(i+1) {
			t.Fatalf("append %d: lsn %d, %v", i, lsn, err)
		}
	}
	if err := l.Durable(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = open(t, dir)
	defer l.Close()
	if l.Last() != 10 {
		t.Fatalf("Last %d after reopen", l.Last())
	}
	got := replayAll(t, l, 1, 4)
	want := map[LSN]string{6: "entry 5", 8: "entry 7", 10: "entry 9"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replay stream 1 after 4: %v, want %v", got, want)
	}
	if lsn, _ := l.Append(0, []byte("more")); lsn != 11 {
		t.Fatalf("next LSN %d, want 11", lsn)
	}
}

func TestTornTailIsCutOff(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	for i := range 3 {
		l.Append(7, fmt.Appendf(nil, "whole %d", i))
	}
	l.Close()
	path := filepath.Join(dir, segmentName(1))
	fi, _ := os.Stat(path)
	// Half of a fourth entry, as a crash in the middle of a write leaves it.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(appendEntry(nil, 7, 4, []byte("never finished"))[:headerSize+3])
	f.Close()
	l = open(t, dir)
	defer l.Close()
	if got := replayAll(t, l, 7, 0); len(got) != 3 || got[3] != "whole 2" {
		t.Fatalf("replay after a torn tail: %v", got)
	}
	if after, _ := os.Stat(path); after.Size() != fi.Size() {
		t.Fatalf("segment is %d bytes, want %d (torn entry cut off)", after.Size(), fi.Size())
	}
	if lsn, err := l.Append(7, []byte("again")); err != nil || lsn != 4 {
		t.Fatalf("append after recovery: %d, %v", lsn, err)
	}
}

func TestDamageBeforeTheEndIsCorrupt(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, func(c *Config) { c.SegmentBytes = 64 })
	for i := range 10 {
		l.Append(1, fmt.Appendf(nil, "entry number %d", i))
	}
	l.Close()
	path := filepath.Join(dir, segmentName(1))
	b, _ := os.ReadFile(path)
	b[headerSize+1] ^= 0xff // the first payload byte of the first segment
	os.WriteFile(path, b, 0o600)
	if _, err := Open(Config{Dir: dir, SegmentBytes: 64}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with a damaged older segment: %v, want ErrCorrupt", err)
	}
}

func TestSegmentsRemovedOnceEveryStreamApplied(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, func(c *Config) { c.SegmentBytes = 100 })
	defer l.Close()
	for i := range 20 {
		l.Append(byte(i%2), []byte("0123456789012345678901234567890123456789"))
	}
	segs := func() int { m, _ := filepath.Glob(filepath.Join(dir, "*"+suffix)); return len(m) }
	before := segs()
	if before < 5 {
		t.Fatalf("%d segments, want several", before)
	}
	l.Applied(0, 19) // stream 1 has applied nothing: every segment holds some of it
	if segs() != before {
		t.Fatalf("segments removed while stream 1 had applied nothing: %d → %d", before, segs())
	}
	l.Applied(1, 10)
	mid := segs()
	if mid >= before || mid == 1 {
		t.Fatalf("after stream 1 applied through 10: %d segments of %d", mid, before)
	}
	if got := replayAll(t, l, 1, 10); len(got) != 5 {
		t.Fatalf("stream 1 after 10 still replays %d entries, want 5 (%v)", len(got), got)
	}
	l.Applied(1, 20)
	if segs() != 1 {
		t.Fatalf("%d segments after everything applied, want the current one", segs())
	}
}

func TestDurableBothModes(t *testing.T) {
	for _, mode := range []Mode{SyncEach, SyncInterval} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			l := open(t, t.TempDir(), func(c *Config) { c.Mode, c.Interval = mode, time.Millisecond })
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for w := range 8 {
				wg.Go(func() {
					for i := range 50 {
						lsn, err := l.Append(byte(w), fmt.Appendf(nil, "%d/%d", w, i))
						if err == nil {
							err = l.Durable(context.Background(), lsn)
						}
						if err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if l.Last() != 400 {
				t.Fatalf("Last %d, want 400", l.Last())
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(0, nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("append after close: %v", err)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	if _, err := ParseMode("sometimes"); !errors.Is(err, ErrConfig) {
		t.Fatalf("ParseMode: %v", err)
	}
	if _, err := Open(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("Open without a directory: %v", err)
	}
	l := open(t, t.TempDir(), func(c *Config) { c.MaxEntry = 8 })
	defer l.Close()
	if _, err := l.Append(0, make([]byte, 9)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized entry: %v", err)
	}
	os.WriteFile(filepath.Join(t.TempDir(), "x"), nil, 0o600)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "nothex"+suffix), nil, 0o600)
	if _, err := Open(Config{Dir: dir}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with a stray segment name: %v", err)
	}
}

// FuzzSegment opens a journal whose only segment holds arbitrary bytes:
// Open either refuses it or recovers a prefix of whole entries, and
// appends continue after them.
func FuzzSegment(f *testing.F) {
	var good []byte
	for i := range 4 {
		good = appendEntry(good, byte(i), LSN(i+1), fmt.Appendf(nil, "payload %d", i))
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, segmentName(1)), b, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(Config{Dir: dir, MaxEntry: 1 << 16})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("refused with %v, want ErrCorrupt", err)
			}
			return
		}
		defer l.Close()
		n := 0
		for s := range 256 {
			l.Replay(byte(s), 0, func(LSN, []byte) error { n++; return nil })
		}
		if LSN(n) != l.Last() {
			t.Fatalf("replayed %d entries, Last is %d", n, l.Last())
		}
		if lsn, err := l.Append(0, []byte("next")); err != nil || lsn != LSN(n)+1 {
			t.Fatalf("append after open: %d, %v", lsn, err)
		}
	})
}
