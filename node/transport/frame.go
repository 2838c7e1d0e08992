package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
)

// Protocol IDs. All use the envelope frame codec.
const (
	CallProtocol      = "/dxl/call/1.0.0"
	ReconcileProtocol = "/dxl/reconcile/1.0.0"
	// ClaimProtocol: a node asks the owner of a request ID among its
	// member's nodes to mark it (node/replay).
	ClaimProtocol = "/dxl/claim/1.0.0"
	// ConfigProtocol: a node asks a peer for its signed global
	// configuration if it is newer than its own (node/confsync).
	ConfigProtocol = "/dxl/config/1.0.0"
	// DeliverProtocol: a sender's node pushes a document (resumable) or
	// a recipient's node returns a signed receipt (node/delivery).
	DeliverProtocol = "/dxl/deliver/1.0.0"
)

// Stream buffers are pooled: a call would otherwise allocate and clear
// them on both nodes, which at thousands of calls a second is most of the
// garbage collector's work.
var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}
	// copyBufs carry a streamed body from its reader to the chunk frames.
	copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
)

// GetReader returns a pooled buffered reader of r; PutReader returns it.
func GetReader(r io.Reader) *bufio.Reader {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// PutReader returns br to the pool.
func PutReader(br *bufio.Reader) {
	br.Reset(nil)
	readers.Put(br)
}

// WriteMessage writes an envelope frame and the body as chunk frames plus
// the end frame (envelope.BodyWriter), streaming body (its hash is in the
// envelope); a bytes.Reader is written straight from its memory.
func WriteMessage(w io.Writer, t envelope.FrameType, env []byte, body io.Reader) error {
	return WriteMessageEnd(w, t, env, body, nil)
}

// WriteMessageEnd is WriteMessage, with everything but the end frame
// flushed to w before beforeEnd (if not nil) runs: the receiver holds the
// whole message but the mark that it is complete until beforeEnd returns.
func WriteMessageEnd(w io.Writer, t envelope.FrameType, env []byte, body io.Reader, beforeEnd func()) error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() { bw.Reset(nil); writers.Put(bw) }()
	if err := envelope.WriteFrame(bw, t, env); err != nil {
		return err
	}
	chunks := envelope.NewBodyWriter(bw, 0)
	buf := copyBufs.Get().(*[]byte)
	_, err := io.CopyBuffer(chunks, body, *buf)
	copyBufs.Put(buf)
	if err != nil {
		return err
	}
	if beforeEnd != nil {
		if err := bw.Flush(); err != nil {
			return err
		}
		beforeEnd()
	}
	if err := chunks.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// ReadBody reads a body sent as chunk frames up to its end frame, refusing
// more than limit bytes. Memory grows with the bytes received (each chunk's
// length is checked before it is read), never on the sender's word.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(envelope.NewBodyReader(r, limit)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrorFrame is the payload of an error frame: a refusal with its machine
// code, message and, for rate_limited, the wait before the next call.
type ErrorFrame struct {
	Code       string
	Message    string
	RetryAfter time.Duration // whole seconds on the wire; 0: none
}

// errorFormat is the first byte of an encoded ErrorFrame. Text ("code:
// message") never starts with it, so both forms stay decodable.
const errorFormat = 0

// maxCode bounds an error code on the wire.
const maxCode = 64

// Encode returns the frame payload: 0x00, code length (1 byte), code,
// retry-after in seconds (4 bytes, big-endian), message, cut to fit
// envelope.MaxErrorPayload.
func (e ErrorFrame) Encode() []byte {
	code := e.Code
	if len(code) > maxCode {
		code = code[:maxCode]
	}
	secs := uint32(0)
	if e.RetryAfter > 0 {
		secs = uint32(min((e.RetryAfter+time.Second-1)/time.Second, 1<<31))
	}
	msg := e.Message
	head := 2 + len(code) + 4
	if head+len(msg) > envelope.MaxErrorPayload {
		msg = msg[:envelope.MaxErrorPayload-head]
	}
	b := make([]byte, 0, head+len(msg))
	b = append(b, errorFormat, byte(len(code)))
	b = append(b, code...)
	b = binary.BigEndian.AppendUint32(b, secs)
	return append(b, msg...)
}

// DecodeError reads an error frame's payload. A payload not in the
// encoded form is read as text "code: message" with no retry-after.
func DecodeError(p []byte) ErrorFrame {
	if len(p) >= 2 && p[0] == errorFormat {
		k := int(p[1])
		if k <= maxCode && len(p) >= 2+k+4 {
			secs := binary.BigEndian.Uint32(p[2+k:])
			return ErrorFrame{Code: string(p[2 : 2+k]), RetryAfter: time.Duration(secs) * time.Second, Message: string(p[2+k+4:])}
		}
	}
	code, msg, _ := strings.Cut(string(p), ": ")
	return ErrorFrame{Code: code, Message: msg}
}

// WriteError writes e as an error frame.
func WriteError(w io.Writer, e ErrorFrame) error {
	return envelope.WriteFrame(w, envelope.FrameError, e.Encode())
}

// ReadError reads one frame that must be an error frame.
func ReadError(r io.Reader) (ErrorFrame, error) {
	f, err := envelope.ReadFrame(r)
	if err != nil {
		return ErrorFrame{}, err
	}
	if f.Type != envelope.FrameError {
		return ErrorFrame{}, fmt.Errorf("%w: frame type %d, want an error", envelope.ErrMalformed, f.Type)
	}
	return DecodeError(f.Payload), nil
}
