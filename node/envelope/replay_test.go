package envelope

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReplayCacheExpiry(t *testing.T) {
	w := 2 * time.Minute
	c := NewReplayCache(w, 0)
	t0 := time.Unix(1_800_000_000, 0)
	ids := make([]RequestID, 1000)
	for i := range ids {
		ids[i] = NewRequestID()
		signed := t0.Add(time.Duration(i%240-120) * time.Second) // spread over ±window
		if err := c.Mark(ids[i], signed, t0); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		signed := t0.Add(time.Duration(i%240-120) * time.Second)
		if err := c.Mark(id, signed, t0); !errors.Is(err, ErrReplay) {
			t.Fatalf("id %d: %v", i, err)
		}
	}
	// Remembered until signed + window, whatever bucket it is in (IDs
	// 0..239 in signing-time order, so the clock only moves forward).
	for i, id := range ids[:240] {
		signed := t0.Add(time.Duration(i-120) * time.Second)
		if err := c.Mark(id, signed, signed.Add(w)); !errors.Is(err, ErrReplay) {
			t.Fatalf("id %d at its expiry: %v", i, err)
		}
	}
	// Much later every bucket has expired: new IDs reuse the slots and
	// memory stays bounded.
	later := t0.Add(10 * w)
	for range 64 * replaySlots {
		if err := c.Mark(NewRequestID(), later, later); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Len(); n >= 1000 {
		t.Fatalf("%d IDs held after expiry", n)
	}
	if err := c.Mark(NewRequestID(), t0, later); !errors.Is(err, ErrClockSkew) {
		t.Fatalf("outside window: %v", err)
	}
}

func TestReplayCacheCap(t *testing.T) {
	c := NewReplayCache(time.Minute, replayShards*4)
	now := time.Unix(1_800_000_000, 0)
	var full error
	for i := 0; i < replayShards*4*4 && full == nil; i++ {
		full = c.Mark(NewRequestID(), now, now)
	}
	if !errors.Is(full, ErrOverloaded) {
		t.Fatalf("cap not enforced: %v (len %d)", full, c.Len())
	}
	if c.Len() > replayShards*4 {
		t.Fatalf("len %d over cap", c.Len())
	}
	// Once the window has passed there is room again.
	later := now.Add(3 * time.Minute)
	if err := c.Mark(NewRequestID(), later, later); err != nil {
		t.Fatal(err)
	}
}

// TestReplayCacheConcurrent marks each of 2,000 IDs from 8 goroutines at
// once: exactly one Mark per ID succeeds.
func TestReplayCacheConcurrent(t *testing.T) {
	c := NewReplayCache(time.Minute, 0)
	now := time.Unix(1_800_000_000, 0)
	ids := make([]RequestID, 2000)
	for i := range ids {
		ids[i] = NewRequestID()
	}
	wins := make([]atomic.Int32, len(ids))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range ids {
				j := (i + g*250) % len(ids)
				err := c.Mark(ids[j], now, now)
				if err == nil {
					wins[j].Add(1)
				} else if !errors.Is(err, ErrReplay) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range wins {
		if wins[i].Load() != 1 {
			t.Fatalf("id %d accepted %d times", i, wins[i].Load())
		}
	}
}
