package replay

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/node/envelope"
)

const window = 10 * time.Minute

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func openDB(t testing.TB, p string) *bolt.DB {
	db, err := bolt.Open(p, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// fresh is a guard on a new database, closed with the test.
func fresh(t testing.TB) (*Guard, *bolt.DB, *clock) {
	t.Helper()
	c := newClock()
	db := openDB(t, filepath.Join(t.TempDir(), "node.db"))
	t.Cleanup(func() { db.Close() })
	g := open(t, db, c)
	t.Cleanup(g.Close)
	return g, db, c
}

func open(t testing.TB, db *bolt.DB, c *clock) *Guard {
	t.Helper()
	g, err := Open(db, window, 0, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGuardRemembersAcrossRestart(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.db")
	c := newClock()
	db := openDB(t, p)
	g := open(t, db, c)
	id := envelope.NewRequestID()
	if err := g.Mark(id, c.now(), c.now()); err != nil {
		t.Fatal(err)
	}
	g.Close()
	db.Close()

	db = openDB(t, p)
	defer db.Close()
	g = open(t, db, c)
	defer g.Close()
	if err := g.Mark(id, c.now(), c.now()); !errors.Is(err, envelope.ErrReplay) {
		t.Fatalf("an ID marked before the restart: %v, want ErrReplay", err)
	}
	if err := g.Mark(envelope.NewRequestID(), c.now(), c.now()); err != nil {
		t.Fatalf("a new ID: %v", err)
	}
}

func TestGuardForgetsAfterWindowAndPrunes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.db")
	c := newClock()
	db := openDB(t, p)
	defer db.Close()
	g := open(t, db, c)
	id := envelope.NewRequestID()
	if err := g.Mark(id, c.now(), c.now()); err != nil {
		t.Fatal(err)
	}
	c.add(2 * window)
	// A fresh mark commits and prunes the expired slot.
	if err := g.Mark(envelope.NewRequestID(), c.now(), c.now()); err != nil {
		t.Fatal(err)
	}
	g.Close()
	slots := 0
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEachBucket(func([]byte) error { slots++; return nil })
	})
	if slots != 1 {
		t.Fatalf("%d slots on disk after the first expired, want 1", slots)
	}
	g = open(t, db, c)
	defer g.Close()
	if err := g.Mark(id, c.now(), c.now()); err != nil {
		t.Fatalf("an ID signed two windows ago, signed again now: %v", err)
	}
}

func TestGuardConcurrentMarks(t *testing.T) {
	g, db, c := fresh(t)
	same := envelope.NewRequestID()
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Mark(envelope.NewRequestID(), c.now(), c.now()); err != nil {
				t.Error(err)
			}
			if g.Mark(same, c.now(), c.now()) == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("one ID marked by 64 callers was accepted %d times", ok.Load())
	}
	n := 0
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEachBucket(func(k []byte) error {
			n += tx.Bucket(bucket).Bucket(k).Stats().KeyN
			return nil
		})
	})
	if n != 65 {
		t.Fatalf("%d IDs on disk, want 65", n)
	}
}

func TestGuardClosed(t *testing.T) {
	g, _, c := fresh(t)
	g.Close()
	if err := g.Mark(envelope.NewRequestID(), c.now(), c.now()); !errors.Is(err, envelope.ErrOverloaded) || !errors.Is(err, ErrClosed) {
		t.Fatalf("mark after close: %v", err)
	}
}

func TestOrder(t *testing.T) {
	nodes := []peer.ID{"node-a", "node-b", "node-c"}
	owned := map[peer.ID]int{}
	for i := 0; i < 3000; i++ {
		id := envelope.NewRequestID()
		o := Order(nodes, id)
		rev := Order([]peer.ID{nodes[2], nodes[0], nodes[1]}, id)
		if len(o) != 3 || o[0] != rev[0] || o[1] != rev[1] || o[2] != rev[2] {
			t.Fatalf("order depends on the input order: %v vs %v", o, rev)
		}
		if Owner(nodes[:2], id) != Order(nodes[:2], id)[0] {
			t.Fatal("Owner is not the first of Order")
		}
		owned[o[0]]++
	}
	for _, p := range nodes {
		if owned[p] < 800 { // 1000 expected
			t.Fatalf("IDs owned per node: %v", owned)
		}
	}
	if Owner(nil, envelope.NewRequestID()) != "" {
		t.Fatal("owner among no nodes")
	}
}

// BenchmarkGuardMark marks new IDs from parallel callers (group commit,
// fsync per group) and reports the database bytes per ID held.
func BenchmarkGuardMark(b *testing.B) {
	g, db, c := fresh(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := g.Mark(envelope.NewRequestID(), c.now(), c.now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if fi, err := os.Stat(db.Path()); err == nil && b.N > 10000 {
		b.ReportMetric(float64(fi.Size())/float64(b.N), "disk-bytes/id")
	}
}
