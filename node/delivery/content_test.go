package delivery

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func testKey() []byte { return bytes.Repeat([]byte{7}, 32) }

func writeContent(t *testing.T, path string, data []byte) {
	t.Helper()
	w, err := createContent(path, testKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
}

func TestContentRoundTripAndSeek(t *testing.T) {
	for _, size := range []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17} {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		path := filepath.Join(t.TempDir(), "c")
		writeContent(t, path, data)
		raw, _ := os.ReadFile(path)
		if size >= 16 && bytes.Contains(raw, data[:16]) {
			t.Fatalf("size %d: plaintext on disk", size)
		}
		r, err := openContent(path, testKey())
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != int64(size) {
			t.Fatalf("size %d: reader says %d", size, r.Size())
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: round trip: %v", size, err)
		}
		for _, off := range []int{0, size / 2, size} {
			if _, err := r.Seek(int64(off), io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, data[off:]) {
				t.Fatalf("size %d offset %d: %v", size, off, err)
			}
		}
		r.Close()
		sum, n, err := hashContent(path, testKey())
		if err != nil || n != int64(size) || sum != sha256.Sum256(data) {
			t.Fatalf("hash: %v", err)
		}
	}
}

func TestContentWrongKeyRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c")
	writeContent(t, path, []byte("secret content"))
	r, err := openContent(path, bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("read with another key")
	}
}

// A transfer broken after some chunks, with a torn chunk at the end of
// the file, resumes after the last whole chunk.
func TestContentResume(t *testing.T) {
	data := make([]byte, 5*ChunkSize+100)
	_, _ = rand.Read(data)
	path := filepath.Join(t.TempDir(), "c")
	w, err := createContent(path, testKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[:2*ChunkSize+10]); err != nil {
		t.Fatal(err)
	}
	_ = w.Sync()
	w.Abort()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.Write(bytes.Repeat([]byte{0}, sealedChunk-3)) // a torn third chunk
	f.Close()
	w, held, err := resumeContent(path, testKey())
	if err != nil {
		t.Fatal(err)
	}
	if held != 2*ChunkSize {
		t.Fatalf("held %d, want %d", held, 2*ChunkSize)
	}
	if _, err := w.Write(data[held:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	sum, n, err := hashContent(path, testKey())
	if err != nil || n != int64(len(data)) || sum != sha256.Sum256(data) {
		t.Fatalf("resumed content differs: %v", err)
	}
}
