package oprec

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/internal/wal"
)

func openJournaled(t testing.TB, dir string) (*Store, *wal.Log) {
	t.Helper()
	j, err := wal.Open(wal.Config{Dir: filepath.Join(dir, "journal")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, filepath.Join(dir, "oprec.db"), nil)
	cfg.Journal = j.Stream(2)
	s := openTest(t, cfg)
	t.Cleanup(func() { s.Close(); j.Close() })
	return s, j
}

// TestJournalReplayAfterCrash: records that reached the journal but not
// the store's file before a crash are there after the restart, once
// (the daily counts too).
func TestJournalReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s, _ := openJournaled(t, dir)
	for i := range 2 {
		s.Add(rec(i, RoleProvider, memA+"/IS", memB+"/SVC/data", 200, ""))
	}
	flush(t, s)
	hold, err := s.db.Begin(true) // the writer cannot commit: the next records reach only the journal
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < 6; i++ {
		s.Add(rec(i, RoleProvider, memA+"/IS", memB+"/SVC/data", 500, "backend_error"))
	}
	if err := s.Durable(context.Background()); err != nil {
		t.Fatal(err)
	}
	crashed := testutil.CrashCopy(t, dir)
	_ = hold.Rollback()

	for range 2 { // the second restart finds nothing more to replay
		r, j := openJournaled(t, crashed)
		if got := queryAll(t, r, Filter{Limit: MaxLimit}); len(got) != 6 {
			t.Fatalf("%d records after the restart, want 6: %v", len(got), ids(got))
		}
		st, err := r.Stats(t0.Add(-24*time.Hour), t0.Add(48*time.Hour))
		if err != nil || len(st) != 1 || st[0].Served != 6 || st[0].Errors != 4 {
			t.Fatalf("daily counts after the restart: %+v, %v", st, err)
		}
		r.Close()
		j.Close()
	}
}
