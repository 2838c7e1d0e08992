package provider

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/dxl-network/dxl/node/envelope"
)

// errBodyTaken: the HTTP client read a request body after the call had
// returned (its transport may close the body late, in a goroutine).
var errBodyTaken = errors.New("provider: request body no longer available")

// requestBody is a call's body on its way to the backend: a whole body
// already checked (a version that validates requests), or the stream
// itself, verified as it goes with its last bytes held until the signed
// hash checks. It is shared with the HTTP client's transport, which may
// read or close it from another goroutine, until finish takes it back.
type requestBody struct {
	mu     sync.Mutex
	r      io.Reader
	taken  bool
	err    error         // the first read error other than io.EOF
	copied *bytes.Buffer // the bytes read, for the message log (archived services)
}

// newRequestBody is the body to send: whole when not nil, else stream.
func newRequestBody(stream io.Reader, whole []byte, archived bool) *requestBody {
	b := &requestBody{}
	switch {
	case whole != nil:
		b.r = bytes.NewReader(whole)
		if archived {
			b.copied = bytes.NewBuffer(whole) // archived returns it as it is
		}
	case archived:
		b.copied = &bytes.Buffer{}
		b.r = envelope.HoldLast(io.TeeReader(stream, b.copied), nil)
	default:
		b.r = envelope.HoldLast(stream, nil)
	}
	return b
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.taken {
		return 0, errBodyTaken
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// Close is the transport's: the body stays for finish.
func (b *requestBody) Close() error { return nil }

// finish takes the body back from the transport and, with drain (the
// backend answered), reads what the backend did not, so the whole body is
// checked against its signed hash: an error (envelope.ErrBodyHash, a
// broken stream) means the request was not the one signed, and the answer
// must not be sent. Without drain (the backend call failed) it reports
// only a failure the body already showed; the rest is not read, and the
// consumer node stops sending when it gets the refusal.
func (b *requestBody) finish(drain bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taken = true
	if b.err != nil || !drain {
		return b.err
	}
	_, err := io.Copy(io.Discard, b.r)
	return err
}

// archived is the whole body for the message log (nil when the service's
// bodies are not archived); valid after finish returned nil.
func (b *requestBody) archived() []byte {
	if b.copied == nil {
		return nil
	}
	return b.copied.Bytes()
}
