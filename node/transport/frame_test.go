package transport

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
)

func TestErrorFrameRoundTrip(t *testing.T) {
	for _, e := range []ErrorFrame{
		{Code: "rate_limited", Message: "rate limit exceeded", RetryAfter: 7 * time.Second},
		{Code: "access_denied", Message: "node: access denied: x may not call GET / on y"},
		{Code: "internal"},
	} {
		var w bytes.Buffer
		if err := WriteError(&w, e); err != nil {
			t.Fatal(err)
		}
		got, err := ReadError(&w)
		if err != nil || got != e {
			t.Fatalf("got %+v %v, want %+v", got, err, e)
		}
	}
	// Retry-after travels in whole seconds, rounded up.
	if got := DecodeError(ErrorFrame{Code: "rate_limited", RetryAfter: 1500 * time.Millisecond}.Encode()); got.RetryAfter != 2*time.Second {
		t.Fatalf("retry-after %v", got.RetryAfter)
	}
	// A long message is cut to fit the frame.
	long := ErrorFrame{Code: "x", Message: strings.Repeat("m", 2*envelope.MaxErrorPayload)}
	if p := long.Encode(); len(p) != envelope.MaxErrorPayload || envelope.WriteFrame(&bytes.Buffer{}, envelope.FrameError, p) != nil {
		t.Fatalf("%d-byte payload", len(p))
	}
	// Text payloads stay readable, and their retry-after is never parsed.
	if got := DecodeError([]byte("rate_limited: retry-after=7; rate limit exceeded")); got.Code != "rate_limited" ||
		got.Message != "retry-after=7; rate limit exceeded" || got.RetryAfter != 0 {
		t.Fatalf("%+v", got)
	}
	if got := DecodeError([]byte{0, 200, 'x'}); got.Code != "\x00\xc8x" {
		t.Fatalf("malformed typed frame: %+v", got)
	}
}

func TestReadBodyCap(t *testing.T) {
	var w bytes.Buffer
	body := bytes.Repeat([]byte("b"), 3*envelope.MaxChunk+5)
	if err := WriteMessage(&w, envelope.FrameResponse, []byte("env"), bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	f, err := envelope.ReadFrame(&w)
	if err != nil || string(f.Payload) != "env" {
		t.Fatalf("%v %q", err, f.Payload)
	}
	raw := w.Bytes()
	got, err := ReadBody(bytes.NewReader(raw), int64(len(body)))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body %d bytes, %v", len(got), err)
	}
	if _, err := ReadBody(bytes.NewReader(raw), int64(len(body)-1)); !errors.Is(err, envelope.ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	// A chunk announcing more than MaxChunk is refused before any read.
	hdr := []byte{byte(envelope.FrameBodyChunk), 0xff, 0xff, 0xff, 0xff}
	if _, err := ReadBody(bytes.NewReader(hdr), 1<<40); !errors.Is(err, envelope.ErrTooLarge) {
		t.Fatalf("oversized chunk: %v", err)
	}
}
