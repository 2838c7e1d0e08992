package envelope

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	frames := []Frame{
		{FrameRequest, []byte("req")},
		{FrameResponse, bytes.Repeat([]byte{1}, MaxEnvelope)},
		{FrameBodyChunk, bytes.Repeat([]byte{2}, MaxChunk)},
		{FrameBodyEnd, nil},
		{FrameError, []byte("envelope_replay: request ID already seen")},
	}
	for _, f := range frames {
		if err := WriteFrame(&buf, f.Type, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range frames {
		got, err := ReadFrame(&buf)
		if err != nil || got.Type != want.Type || !bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("frame %d: %v", want.Type, err)
		}
	}
	if _, err := ReadFrame(&buf); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
}

func fhdr(t FrameType, n uint32) []byte {
	b := []byte{byte(t), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], n)
	return b
}

func TestFrameRefusals(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"2^31 length", fhdr(FrameBodyChunk, 1<<31), ErrTooLarge},
		{"max uint32 length", fhdr(FrameRequest, 1<<32-1), ErrTooLarge},
		{"envelope one over", fhdr(FrameRequest, MaxEnvelope+1), ErrTooLarge},
		{"chunk one over", fhdr(FrameBodyChunk, MaxChunk+1), ErrTooLarge},
		{"end with payload", fhdr(FrameBodyEnd, 1), ErrTooLarge},
		{"error too long", fhdr(FrameError, MaxErrorPayload+1), ErrTooLarge},
		{"unknown type", fhdr(9, 1), ErrMalformed},
		{"type zero", fhdr(0, 0), ErrMalformed},
		{"empty chunk", fhdr(FrameBodyChunk, 0), ErrMalformed},
		{"truncated header", []byte{1, 0, 0}, ErrMalformed},
		{"truncated payload", append(fhdr(FrameRequest, 10), 1, 2, 3), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadFrame(bytes.NewReader(tt.in)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if err := WriteFrame(io.Discard, FrameRequest, make([]byte, MaxEnvelope+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if err := WriteFrame(io.Discard, 7, nil); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

// TestOversizedFrameNotAllocated reads a 2^31 length prefix followed by
// an endless stream and checks that the refusal allocated next to nothing.
func TestOversizedFrameNotAllocated(t *testing.T) {
	in := io.MultiReader(bytes.NewReader(fhdr(FrameBodyChunk, 1<<31)), zeroReader{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(in)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Fatalf("refusing a 2 GiB frame allocated %d bytes", d)
	}
	allocs := testing.AllocsPerRun(100, func() {
		_, _ = ReadFrame(bytes.NewReader(fhdr(FrameBodyChunk, 1<<31)))
	})
	if allocs > 10 {
		t.Fatalf("%v allocations per refusal", allocs)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestBodyStream(t *testing.T) {
	body := make([]byte, 3*MaxChunk+12345)
	rand.Read(body)
	sum := sha256.Sum256(body)
	for _, chunk := range []int{1, 1000, 64 << 10, MaxChunk} {
		var wire bytes.Buffer
		n, gotSum, err := WriteBody(&wire, bytes.NewReader(body), chunk, int64(len(body)))
		if err != nil || n != int64(len(body)) || gotSum != sum {
			t.Fatalf("chunk %d: WriteBody %d %v", chunk, n, err)
		}
		WriteFrame(&wire, FrameRequest, []byte("next message")) // must stay unread
		got, err := io.ReadAll(NewHashingReader(NewBodyReader(&wire, int64(len(body))), sum, uint64(len(body))))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("chunk %d: read back %d bytes: %v", chunk, len(got), err)
		}
		if f, err := ReadFrame(&wire); err != nil || f.Type != FrameRequest {
			t.Fatalf("chunk %d: body reader over-read: %v", chunk, err)
		}
	}
}

func TestBodyStreamRefusals(t *testing.T) {
	body := bytes.Repeat([]byte("abcdefgh"), 10000)
	sum := sha256.Sum256(body)
	wireOf := func(b []byte) *bytes.Buffer {
		var w bytes.Buffer
		if _, _, err := WriteBody(&w, bytes.NewReader(b), 4096, 0); err != nil {
			t.Fatal(err)
		}
		return &w
	}
	tampered := bytes.Clone(body)
	tampered[5000] ^= 1
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"tampered byte", NewHashingReader(NewBodyReader(wireOf(tampered), 0), sum, uint64(len(body))), ErrBodyHash},
		{"truncated body", NewHashingReader(NewBodyReader(wireOf(body[:len(body)-1]), 0), sum, uint64(len(body))), ErrBodyHash},
		{"longer body", NewHashingReader(NewBodyReader(wireOf(append(bytes.Clone(body), 'x')), 0), sum, uint64(len(body))), ErrBodyHash},
		{"over the total cap", NewBodyReader(wireOf(body), int64(len(body)-1)), ErrTooLarge},
		{"stream cut", NewBodyReader(bytes.NewReader(wireOf(body).Bytes()[:3000]), 0), ErrMalformed},
		{"no end frame", NewBodyReader(bytes.NewReader(append(fhdr(FrameBodyChunk, 1), 'a')), 0), ErrMalformed},
		{"envelope inside body", NewBodyReader(bytes.NewReader(fhdr(FrameRequest, 0)), 0), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := io.Copy(io.Discard, tt.r); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	var w bytes.Buffer
	WriteFrame(&w, FrameBodyChunk, []byte("partial"))
	WriteFrame(&w, FrameError, []byte("backend_timeout: provider backend timed out"))
	_, err := io.Copy(io.Discard, NewBodyReader(&w, 0))
	var re *RemoteError
	if !errors.As(err, &re) || !strings.HasPrefix(re.Message, "backend_timeout") {
		t.Fatalf("error frame: %v", err)
	}
	if _, _, err := WriteBody(io.Discard, bytes.NewReader(body), 0, int64(len(body)-1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("writer cap: %v", err)
	}
}
