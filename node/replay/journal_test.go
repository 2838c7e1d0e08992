package replay

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/node/envelope"
)

// TestJournaledMarksSurviveCrash: a journaled guard answers Mark once the
// ID is in the journal; IDs that reached the journal but not the
// database before a crash are refused after the restart, and the
// database holds them from then on.
func TestJournaledMarksSurviveCrash(t *testing.T) {
	dir := t.TempDir()
	c := newClock()
	openAll := func(dir string) (*Guard, func()) {
		db := openDB(t, filepath.Join(dir, "node.db"))
		j, err := wal.Open(wal.Config{Dir: filepath.Join(dir, "journal")})
		if err != nil {
			t.Fatal(err)
		}
		g, err := Open(db, window, 0, c.now, WithJournal(j.Stream(3)))
		if err != nil {
			t.Fatal(err)
		}
		return g, func() { g.Close(); j.Close(); db.Close() }
	}
	g, closeAll := openAll(dir)
	hold, err := g.db.Begin(true) // the writer cannot commit: marks reach only the journal
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]envelope.RequestID, 5)
	for i := range ids {
		ids[i] = envelope.NewRequestID()
		if err := g.Mark(ids[i], c.now(), c.now()); err != nil {
			t.Fatal(err)
		}
	}
	crashed := testutil.CrashCopy(t, dir)
	_ = hold.Rollback()
	closeAll()

	for restart := range 2 { // the second finds the IDs in the database, the journal's segment gone or applied
		g, closeAll := openAll(crashed)
		for _, id := range ids {
			if err := g.Mark(id, c.now(), c.now().Add(time.Second)); !errors.Is(err, envelope.ErrReplay) {
				t.Fatalf("restart %d: a journaled ID marked again: %v", restart, err)
			}
		}
		closeAll()
	}
}
