package msglog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/internal/wal"
)

func openJournal(t testing.TB, dir string) *wal.Log {
	t.Helper()
	j, err := wal.Open(wal.Config{Dir: filepath.Join(dir, "journal")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func openJournaled(t testing.TB, dir string) (*Log, *wal.Log) {
	j := openJournal(t, dir)
	return openLog(t, Config{Path: filepath.Join(dir, "msglog.db"), TSAs: tsas(), Journal: j.Stream(1)}), j
}

// TestJournalReplayAfterCrash: appends that reached the journal but not
// the log's file before a crash are in the log after the restart, in
// order, with the hash chain whole, and only once.
func TestJournalReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	l, _ := openJournaled(t, dir)
	for i := range 3 {
		if err := l.Append(fakeRecord(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, l)
	hold, err := l.db.Begin(true) // the writer cannot commit: the next appends reach only the journal
	if err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 8; i++ {
		if err := l.Append(fakeRecord(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Durable(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := testutil.CrashCopy(t, dir)
	_ = hold.Rollback()

	for range 2 { // the second restart finds nothing more to replay
		r, j := openJournaled(t, crashed)
		for i := range 8 {
			if recs, err := r.Records(fakeRecord(i).RequestID); err != nil || len(recs) != 1 || recs[0].Seq != uint64(i+1) {
				t.Fatalf("record %d after the restart: %v, %+v", i, err, recs)
			}
		}
		if n, err := r.VerifyChain(); err != nil || n != 8 {
			t.Fatalf("chain after the restart: %d records, %v", n, err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		j.Close()
	}
}

// TestJournalStartsAgain: a log whose journal is new (restored without
// it, or its directory removed) still replays what the new journal holds
// after a crash, although the file had committed higher LSNs of the old.
func TestJournalStartsAgain(t *testing.T) {
	dir := t.TempDir()
	l, j := openJournaled(t, dir)
	for i := range 5 {
		l.Append(fakeRecord(i), nil)
	}
	flush(t, l)
	l.Close()
	j.Close()
	if err := os.RemoveAll(filepath.Join(dir, "journal")); err != nil {
		t.Fatal(err)
	}
	l, _ = openJournaled(t, dir)
	hold, err := l.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	l.Append(fakeRecord(5), nil)
	if err := l.Durable(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := testutil.CrashCopy(t, dir)
	_ = hold.Rollback()
	r, _ := openJournaled(t, crashed)
	if recs, err := r.Records(fakeRecord(5).RequestID); err != nil || len(recs) != 1 || recs[0].Seq != 6 {
		t.Fatalf("the new journal's record after the crash: %v, %+v", err, recs)
	}
}
