package envelope

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
)

// FrameType is the first byte of a frame.
type FrameType uint8

// Frame types of /dxl/call/1.0.0.
const (
	FrameRequest   FrameType = 1 // payload: request envelope
	FrameResponse  FrameType = 2 // payload: response envelope
	FrameBodyChunk FrameType = 3 // payload: 1..MaxChunk body bytes
	FrameBodyEnd   FrameType = 4 // payload: empty; ends the body
	FrameError     FrameType = 5 // payload: a refusal (node/transport.ErrorFrame)
)

// Per-type payload limits.
const (
	MaxChunk        = 1 << 20
	MaxErrorPayload = 4 << 10
	frameHeader     = 5 // type byte + 4-byte big-endian length
)

// MaxPayload returns the largest payload a frame of type t may carry, or
// -1 for an unknown type.
func MaxPayload(t FrameType) int {
	switch t {
	case FrameRequest, FrameResponse:
		return MaxEnvelope
	case FrameBodyChunk:
		return MaxChunk
	case FrameBodyEnd:
		return 0
	case FrameError:
		return MaxErrorPayload
	}
	return -1
}

// Frame is one frame.
type Frame struct {
	Type    FrameType
	Payload []byte
}

// WriteFrame writes one frame: type byte, 4-byte big-endian payload
// length, payload. It refuses a payload over the type's limit
// (ErrTooLarge) and unknown types (ErrMalformed).
func WriteFrame(w io.Writer, t FrameType, payload []byte) error {
	limit := MaxPayload(t)
	if limit < 0 {
		return fmt.Errorf("%w: frame type %d", ErrMalformed, t)
	}
	if len(payload) > limit || (t == FrameBodyChunk && len(payload) == 0) {
		return fmt.Errorf("%w: %d-byte payload for frame type %d (max %d)", ErrTooLarge, len(payload), t, limit)
	}
	var h [frameHeader]byte
	h[0] = byte(t)
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	if len(payload) <= 512 { // one write for small frames
		b := make([]byte, 0, frameHeader+len(payload))
		_, err := w.Write(append(append(b, h[:]...), payload...))
		return err
	}
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readHeader reads a frame header and checks the length against the
// type's limit before anything is allocated.
func readHeader(r io.Reader) (FrameType, int, error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, 0, fmt.Errorf("%w: truncated frame header", ErrMalformed)
		}
		return 0, 0, err // io.EOF: clean end of stream
	}
	t := FrameType(h[0])
	n := binary.BigEndian.Uint32(h[1:])
	limit := MaxPayload(t)
	if limit < 0 {
		return 0, 0, fmt.Errorf("%w: frame type %d", ErrMalformed, t)
	}
	if uint64(n) > uint64(limit) {
		return 0, 0, fmt.Errorf("%w: frame type %d announces %d bytes (max %d)", ErrTooLarge, t, n, limit)
	}
	if t == FrameBodyChunk && n == 0 {
		return 0, 0, fmt.Errorf("%w: empty body chunk", ErrMalformed)
	}
	return t, int(n), nil
}

// ReadFrame reads one frame. It returns io.EOF at a clean end of stream,
// ErrTooLarge for a length over the type's limit (checked before the
// payload is allocated) and ErrMalformed for an unknown type or a
// truncated frame.
func ReadFrame(r io.Reader) (Frame, error) {
	t, n, err := readHeader(r)
	if err != nil {
		return Frame{}, err
	}
	f := Frame{Type: t}
	if n > 0 {
		f.Payload = make([]byte, n)
		if _, err := io.ReadFull(r, f.Payload); err != nil {
			return Frame{}, fmt.Errorf("%w: truncated frame payload: %v", ErrMalformed, err)
		}
	}
	return f, nil
}

// RemoteError is an error frame received in place of body data.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return "envelope: peer error: " + e.Message }

// BodyWriter writes a body as chunk frames; Close writes the end frame.
// Each Write of up to MaxChunk bytes becomes one frame, so wrap it in a
// bufio.Writer (or use WriteBody) to get large frames from small writes.
type BodyWriter struct {
	w      io.Writer
	limit  int64
	n      int64
	closed bool
}

// NewBodyWriter returns a BodyWriter refusing (ErrTooLarge) more than
// limit bytes in total; limit <= 0 means no limit.
func NewBodyWriter(w io.Writer, limit int64) *BodyWriter { return &BodyWriter{w: w, limit: limit} }

// Write implements io.Writer.
func (b *BodyWriter) Write(p []byte) (int, error) {
	if b.closed {
		return 0, fmt.Errorf("%w: write after end of body", ErrMalformed)
	}
	written := 0
	for len(p) > 0 {
		c := p[:min(len(p), MaxChunk)]
		if b.limit > 0 && b.n+int64(len(c)) > b.limit {
			return written, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, b.limit)
		}
		if err := WriteFrame(b.w, FrameBodyChunk, c); err != nil {
			return written, err
		}
		b.n += int64(len(c))
		written += len(c)
		p = p[len(c):]
	}
	return written, nil
}

// Close writes the end-of-body frame.
func (b *BodyWriter) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	return WriteFrame(b.w, FrameBodyEnd, nil)
}

// WriteBody streams r as chunk frames of up to chunk bytes (<= 0 or over
// MaxChunk: 64 KiB) followed by the end frame, refusing more than limit
// bytes (<= 0: no limit). It returns the byte count and SHA-256.
func WriteBody(w io.Writer, r io.Reader, chunk int, limit int64) (int64, [32]byte, error) {
	if chunk <= 0 || chunk > MaxChunk {
		chunk = 64 << 10
	}
	h := sha256.New()
	bw := NewBodyWriter(w, limit)
	buf := make([]byte, chunk)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			if _, werr := bw.Write(buf[:n]); werr != nil {
				return bw.n, [32]byte{}, werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return bw.n, [32]byte{}, err
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return bw.n, sum, bw.Close()
}

// BodyReader reads a body sent as chunk frames, returning io.EOF after the
// end frame. Chunk payloads are copied straight into the caller's buffer;
// nothing is allocated per frame.
type BodyReader struct {
	r      io.Reader
	limit  int64
	n      int64
	remain int // bytes left in the current chunk
	err    error
}

// NewBodyReader returns a BodyReader refusing (ErrTooLarge) more than
// limit bytes in total (<= 0: no limit). An error frame surfaces as a
// *RemoteError; any other frame type is ErrMalformed.
func NewBodyReader(r io.Reader, limit int64) *BodyReader { return &BodyReader{r: r, limit: limit} }

// Read implements io.Reader.
func (b *BodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for b.remain == 0 {
		t, n, err := readHeader(b.r)
		if err == io.EOF {
			err = fmt.Errorf("%w: stream ended before the end of body", ErrMalformed)
		}
		if err != nil {
			b.err = err
			return 0, err
		}
		switch t {
		case FrameBodyChunk:
			if b.limit > 0 && b.n+int64(n) > b.limit {
				b.err = fmt.Errorf("%w: body over %d bytes", ErrTooLarge, b.limit)
				return 0, b.err
			}
			b.remain = n
		case FrameBodyEnd:
			b.err = io.EOF
			return 0, io.EOF
		case FrameError:
			msg := make([]byte, n)
			if _, err := io.ReadFull(b.r, msg); err != nil {
				b.err = fmt.Errorf("%w: truncated error frame", ErrMalformed)
			} else {
				b.err = &RemoteError{Message: string(msg)}
			}
			return 0, b.err
		default:
			b.err = fmt.Errorf("%w: frame type %d inside a body", ErrMalformed, t)
			return 0, b.err
		}
	}
	n, err := b.r.Read(p[:min(len(p), b.remain)])
	b.remain -= n
	b.n += int64(n)
	if err == io.EOF || (err == nil && n == 0) {
		err = fmt.Errorf("%w: truncated body chunk", ErrMalformed)
	}
	if err != nil {
		b.err = err
		if n > 0 {
			return n, nil
		}
	}
	return n, err
}

// HashingReader passes a body through and, at its end, checks its length
// and SHA-256 against the envelope's: on mismatch the final Read returns
// ErrBodyHash instead of io.EOF, so a consumer of the stream must treat
// everything read as unverified until io.EOF.
type HashingReader struct {
	r      io.Reader
	h      hash.Hash
	want   [32]byte
	length uint64
	n      uint64
	err    error
}

// NewHashingReader wraps r, expecting length bytes with SHA-256 sum.
func NewHashingReader(r io.Reader, sum [32]byte, length uint64) *HashingReader {
	return &HashingReader{r: r, h: sha256.New(), want: sum, length: length}
}

// Read implements io.Reader.
func (h *HashingReader) Read(p []byte) (int, error) {
	if h.err != nil {
		return 0, h.err
	}
	n, err := h.r.Read(p)
	h.n += uint64(n)
	h.h.Write(p[:n])
	if h.n > h.length {
		h.err = fmt.Errorf("%w: body longer than the %d bytes signed", ErrBodyHash, h.length)
		return 0, h.err
	}
	if err == io.EOF {
		var got [32]byte
		h.h.Sum(got[:0])
		switch {
		case h.n != h.length:
			h.err = fmt.Errorf("%w: body of %d bytes, %d signed", ErrBodyHash, h.n, h.length)
		case got != h.want:
			h.err = fmt.Errorf("%w: SHA-256 mismatch", ErrBodyHash)
		default:
			h.err = io.EOF
		}
		if h.err != io.EOF && n > 0 {
			return n, nil
		}
		return n, h.err
	}
	if err != nil {
		h.err = err
	}
	return n, err
}
