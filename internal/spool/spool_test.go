package spool

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"testing/iotest"
)

func body(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestFill: a body at or under Memory stays in memory, a longer one goes
// to an unnamed file in Dir; either way Len, SHA256 and every Open give
// the body back, also read in odd sizes and from several readers at once.
func TestFill(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 4096, 4097, 100_000, 1<<20 + 13} {
		want := body(n)
		s, err := Fill(Config{Dir: dir, Memory: 4096}, iotest.HalfReader(bytes.NewReader(want)))
		if err != nil {
			t.Fatal(n, err)
		}
		if _, inMem := s.InMemory(); inMem != (n <= 4096) {
			t.Errorf("%d bytes: in memory %v", n, inMem)
		}
		if s.Len() != int64(n) || s.SHA256() != sha256.Sum256(want) {
			t.Fatalf("%d bytes: len %d, hash mismatch", n, s.Len())
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if err := iotest.TestReader(s.Open(), want); err != nil {
					t.Errorf("%d bytes: %v", n, err)
				}
			})
		}
		wg.Wait()
		got, err := io.ReadAll(iotest.OneByteReader(s.Open()))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: one-byte reads: %v", n, err)
		}
		if all, err := s.ReadAll(); err != nil || !bytes.Equal(all, want) {
			t.Fatalf("%d bytes: ReadAll %v", n, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left in the spool directory: %v", ents)
	}
}

// TestFileEncrypted: what rests on disk is not the body.
func TestFileEncrypted(t *testing.T) {
	want := bytes.Repeat([]byte("công dân số 001 "), 1<<14)
	s, err := Fill(Config{Dir: t.TempDir(), Memory: 1024}, bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw := make([]byte, len(want))
	if _, err := s.file.ReadAt(raw, 0); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("công dân")) || bytes.Equal(raw, want) {
		t.Fatal("the spool file holds the body in clear")
	}
}

// TestLimit: more than Limit is ErrTooLarge, in memory and on file, and
// nothing is left behind; exactly Limit passes.
func TestLimit(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ n, mem, limit int }{{101, 4096, 100}, {10_000, 4096, 9_999}, {5000, 100, 4999}} {
		if _, err := Fill(Config{Dir: dir, Memory: c.mem, Limit: int64(c.limit)}, bytes.NewReader(body(c.n))); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%+v: %v", c, err)
		}
		s, err := Fill(Config{Dir: dir, Memory: c.mem, Limit: int64(c.n)}, bytes.NewReader(body(c.n)))
		if err != nil || s.Len() != int64(c.n) {
			t.Fatalf("%+v at the limit: %v", c, err)
		}
		s.Close()
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files left: %v", ents)
	}
}

// TestFillReadError: a reader that fails fails the fill.
func TestFillReadError(t *testing.T) {
	r := io.MultiReader(bytes.NewReader(body(5000)), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := Fill(Config{Dir: t.TempDir(), Memory: 100}, r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
}

// TestStreamAtCarry: the key stream at an offset equals the stream read
// up to it, also when the counter's low half wraps.
func TestStreamAtCarry(t *testing.T) {
	s, err := Fill(Config{Dir: t.TempDir(), Memory: 16}, bytes.NewReader(body(64)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 8; i < 16; i++ {
		s.iv[i] = 0xff
	}
	full := make([]byte, 96)
	s.streamAt(0).XORKeyStream(full, full)
	for off := range 96 {
		part := make([]byte, 96-off)
		s.streamAt(int64(off)).XORKeyStream(part, part)
		if !bytes.Equal(part, full[off:]) {
			t.Fatalf("key stream at %d differs", off)
		}
	}
}

func BenchmarkFill(b *testing.B) {
	data := body(64 << 20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s, err := Fill(Config{Dir: b.TempDir()}, bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, s.Open()); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// TestStorageError: a spool that cannot make its file fails with
// ErrStorage, apart from a failing reader and an oversized body.
func TestStorageError(t *testing.T) {
	_, err := Fill(Config{Dir: "/nonexistent/dxl-spool", Memory: 10}, bytes.NewReader(body(100)))
	if !errors.Is(err, ErrStorage) {
		t.Fatal(err)
	}
	if s, err := Fill(Config{Dir: "/nonexistent/dxl-spool", Memory: 1000}, bytes.NewReader(body(100))); err != nil || s.Len() != 100 {
		t.Fatalf("in memory, no file needed: %v", err)
	}
}
