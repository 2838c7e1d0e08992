package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	testNode      = "DXL-TEST/GOV/AGENCY-A/node-1"
	testSubsystem = "DXL-TEST/GOV/AGENCY-A/portal"
)

// testEpoch is the fake clock's start; the fuzz seed token is valid at it.
var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a settable clock safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testKey is a fixed P-256 key, so that the committed fuzz seed token stays
// valid. Test only.
func testKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	d := sha256.Sum256([]byte("dxl node/auth test key"))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type fixture struct {
	a     *Authority
	clock *fakeClock
	store Store
}

func newFixture(t testing.TB, store Store) *fixture {
	t.Helper()
	if store == nil {
		store = NewMemStore()
	}
	clock := &fakeClock{t: testEpoch}
	a, err := New(Config{
		NodeID: testNode,
		Key:    testKey(t),
		Store:  store,
		Now:    clock.Now,
		Rand:   rand.NewChaCha8([32]byte{1, 2, 3}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{a: a, clock: clock, store: store}
}

func newBoltStore(t testing.TB) Store {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "auth.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := NewBoltStore(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stores runs f against each Store implementation.
func stores(t *testing.T, f func(t *testing.T, s Store)) {
	t.Run("mem", func(t *testing.T) { f(t, NewMemStore()) })
	t.Run("bolt", func(t *testing.T) { f(t, newBoltStore(t)) })
}
