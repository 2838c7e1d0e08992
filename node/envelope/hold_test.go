package envelope

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestHoldLast: everything comes through in order, the last bytes only
// after atEnd ran; with a body that fails its hash, the bytes before the
// failure are cut short and the error comes instead of the rest.
func TestHoldLast(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 32 << 10, 32<<10 + 1, 200_000} {
		body := bytes.Repeat([]byte{'x', 'y', 'z'}, n)[:n]
		ended := false
		var got bytes.Buffer
		r := HoldLast(iotest.HalfReader(NewHashingReader(bytes.NewReader(body), sha256.Sum256(body), uint64(n))), func() { ended = true })
		buf := make([]byte, 7000)
		for {
			k, err := r.Read(buf)
			if k > 0 && !ended && got.Len()+k == n {
				t.Fatalf("%d bytes: the last bytes came out before atEnd", n)
			}
			got.Write(buf[:k])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), body) || !ended {
			t.Fatalf("%d bytes: got %d, ended %v", n, got.Len(), ended)
		}
		// WriteTo (io.Copy) passes the same bytes, the last after atEnd.
		var viaCopy bytes.Buffer
		ended = false
		w := writerFunc(func(p []byte) (int, error) {
			if !ended && viaCopy.Len()+len(p) == n {
				t.Fatalf("%d bytes: WriteTo wrote the last bytes before atEnd", n)
			}
			return viaCopy.Write(p)
		})
		k, err := io.Copy(w, HoldLast(NewHashingReader(bytes.NewReader(body), sha256.Sum256(body), uint64(n)), func() { ended = true }))
		if err != nil || k != int64(n) || !bytes.Equal(viaCopy.Bytes(), body) || !ended {
			t.Fatalf("%d bytes: io.Copy %d, %v", n, k, err)
		}

		if n == 0 {
			continue
		}
		bad := bytes.Clone(body)
		bad[n-1] ^= 1
		called := false
		out, err := io.ReadAll(HoldLast(NewHashingReader(bytes.NewReader(bad), sha256.Sum256(body), uint64(n)), func() { called = true }))
		if !errors.Is(err, ErrBodyHash) || len(out) >= n || called || !bytes.Equal(out, body[:len(out)]) {
			t.Fatalf("%d bytes, last one changed: %d out, %v, atEnd %v", n, len(out), err, called)
		}
		var copied bytes.Buffer
		if k, err := io.Copy(&copied, HoldLast(NewHashingReader(bytes.NewReader(bad), sha256.Sum256(body), uint64(n)), nil)); !errors.Is(err, ErrBodyHash) || k >= int64(n) {
			t.Fatalf("%d bytes, last one changed, io.Copy: %d, %v", n, k, err)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
