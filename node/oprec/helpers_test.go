package oprec

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is an injectable, settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var t0 = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

func testConfig(t testing.TB, path string, clk *clock) Config {
	if path == "" {
		path = filepath.Join(t.TempDir(), "oprec.db")
	}
	if clk == nil {
		clk = newClock(t0)
	}
	return Config{Path: path, Now: clk.Now, PruneInterval: -1}
}

func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func flush(t testing.TB, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

const (
	memA = "VN/GOV/A"
	memB = "VN/GOV/B"
	memC = "VN/COM/C"
)

// rec builds a record; i makes the request ID and start unique.
func rec(i int, role, client, service string, status int, code string) Record {
	return Record{
		RequestID:     fmt.Sprintf("req-%04d", i),
		Start:         t0.Add(time.Duration(i) * time.Minute),
		Duration:      time.Duration(i+1) * 1500 * time.Microsecond,
		Role:          role,
		Client:        client,
		Service:       service,
		CallerIP:      "10.0.0.1",
		Status:        status,
		ErrorCode:     code,
		RequestBytes:  int64(100 + i),
		ResponseBytes: int64(1000 + i),
		ConsumerPeer:  "12D3KooWConsumer",
		ProviderPeer:  "12D3KooWProvider",
	}
}

func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.RequestID + "/" + r.Role
	}
	return out
}

// queryAll pages through f with the given page size.
func queryAll(t testing.TB, s *Store, f Filter) []Record {
	t.Helper()
	var all []Record
	for range 10000 {
		page, next, err := s.Query(f)
		if err != nil {
			t.Fatalf("Query(%+v): %v", f, err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		f.Cursor = next
	}
	t.Fatal("paging did not end")
	return nil
}
