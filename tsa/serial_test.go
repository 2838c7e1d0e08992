package tsa

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

func TestSerialsRestart(t *testing.T) {
	for _, tc := range []struct {
		name   string
		block  int
		served int
		crash  bool
	}{
		{"clean close, partial block", 16, 5, false},
		{"crash, partial block", 16, 5, true},
		{"crash, several blocks", 16, 100, true},
		{"clean close, several blocks", 16, 100, false},
		{"crash, nothing served", 16, 0, true},
		{"block of one", 1, 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tsa.db")
			s, err := OpenSerials(path, tc.block)
			if err != nil {
				t.Fatal(err)
			}
			var max uint64
			for i := 0; i < tc.served; i++ {
				n, err := s.Next()
				if err != nil {
					t.Fatal(err)
				}
				if n <= max {
					t.Fatalf("serial %d after %d", n, max)
				}
				max = n
			}
			if tc.crash {
				err = s.crash()
			} else {
				err = s.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Next(); !errors.Is(err, ErrClosed) {
				t.Fatalf("Next after close: %v", err)
			}
			s2, err := OpenSerials(path, tc.block)
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			n, err := s2.Next()
			if err != nil {
				t.Fatal(err)
			}
			if n <= max {
				t.Fatalf("after restart got %d, already served up to %d", n, max)
			}
			if !tc.crash && n != max+1 {
				t.Errorf("clean restart left a gap: %d after %d", n, max)
			}
		})
	}
}

func TestSerialsConcurrent(t *testing.T) {
	s, err := OpenSerials(filepath.Join(t.TempDir(), "tsa.db"), 8)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const workers, each = 8, 200
	got := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for i := 0; i < each; i++ {
				n, err := s.Next()
				if err != nil {
					t.Error(err)
					return
				}
				if n <= last {
					t.Errorf("serial %d after %d in one goroutine", n, last)
				}
				last = n
				got <- n
			}
		}()
	}
	wg.Wait()
	close(got)
	seen := make(map[uint64]bool)
	for n := range got {
		if seen[n] {
			t.Fatalf("serial %d handed out twice", n)
		}
		seen[n] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("%d serials, want %d", len(seen), workers*each)
	}
	if hw := s.HighWater(); hw <= uint64(workers*each) {
		t.Errorf("high-water mark %d not above served serials", hw)
	}
}

func TestSerialsSecondOpenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tsa.db")
	s, err := OpenSerials(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if testing.Short() {
		t.Skip("waits for the bbolt lock timeout")
	}
	if s2, err := OpenSerials(path, 0); err == nil {
		s2.Close()
		t.Fatal("second open of a locked serial store succeeded")
	}
}

// crash closes the database without recording the exact mark, as a
// killed process would leave it. For tests.
func (s *Serials) crash() error {
	s.mu.Lock()
	s.closed = true
	s.reserved.Broadcast()
	s.mu.Unlock()
	s.wg.Wait()
	return s.db.Close()
}
