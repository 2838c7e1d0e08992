package delivery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/transport"
)

// On /dxl/deliver/1.0.0 (one stream per document or receipt, envelope
// frames through node/transport):
//
//	document: sender → request frame (offer: the signed metadata and the
//	          recipient); receiver → response frame (answer: the offset it
//	          holds, or complete) or an error frame; sender → the content
//	          from that offset as chunk frames and an end frame; receiver,
//	          once the whole content is on disk and matches its signed
//	          hash → response frame (complete) or an error frame.
//	receipt:  recipient's node → request frame (offer: the signed
//	          receipt); sender's node → response frame (complete) or an
//	          error frame.
//
// A broken transfer is offered again: the receiver answers with the
// offset of its last whole chunk on disk and the sender goes on from
// there.

// Kinds of offer.
const (
	kindDocument = "document"
	kindReceipt  = "receipt"
)

// offer is the request frame's payload.
type offer struct {
	Kind      string  `json:"kind"`
	Recipient string  `json:"recipient,omitempty"`
	Document  *Signed `json:"document,omitempty"`
	Receipt   *Signed `json:"receipt,omitempty"`
}

// answer is a response frame's payload.
type answer struct {
	Offset   int64   `json:"offset"`
	Complete bool    `json:"complete,omitempty"`
	Stored   *Signed `json:"stored,omitempty"` // with Complete for a document: the transport receipt (record.go)
}

// decodeOffer decodes a request frame's payload.
func decodeOffer(p []byte) (*offer, error) {
	var o offer
	if err := jsonin.Decode(bytes.NewReader(p), &o); err != nil {
		return nil, fmt.Errorf("%w: offer: %v", ErrBadMeta, err)
	}
	var s *Signed
	switch o.Kind {
	case kindDocument:
		if o.Receipt != nil || o.Recipient == "" {
			return nil, fmt.Errorf("%w: document offer without recipient", ErrBadMeta)
		}
		s = o.Document
	case kindReceipt:
		if o.Document != nil || o.Recipient != "" {
			return nil, fmt.Errorf("%w: receipt offer with a document", ErrBadMeta)
		}
		s = o.Receipt
	default:
		return nil, fmt.Errorf("%w: offer kind %.16q", ErrBadMeta, o.Kind)
	}
	if s == nil || len(s.Body) == 0 || len(s.Body) > MaxMeta || len(s.Cert) == 0 || len(s.Cert) > envelope.MaxCert ||
		len(s.Sig) == 0 || len(s.Sig) > envelope.MaxSignature {
		return nil, fmt.Errorf("%w: signed part missing or over its size", ErrBadMeta)
	}
	return &o, nil
}

// decodeAnswer decodes a response frame's payload.
func decodeAnswer(p []byte) (*answer, error) {
	var a answer
	if err := jsonin.Decode(bytes.NewReader(p), &a); err != nil {
		return nil, fmt.Errorf("%w: answer: %v", envelope.ErrMalformed, err)
	}
	if a.Offset < 0 {
		return nil, fmt.Errorf("%w: negative offset", envelope.ErrMalformed)
	}
	return &a, nil
}

func writeJSON(w io.Writer, t envelope.FrameType, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return envelope.WriteFrame(w, t, b)
}

// readAnswer reads a response frame, or turns an error frame into the
// sentinel of its code (RemoteError).
func readAnswer(r io.Reader) (*answer, error) {
	f, err := envelope.ReadFrame(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	switch f.Type {
	case envelope.FrameResponse:
		return decodeAnswer(f.Payload)
	case envelope.FrameError:
		return nil, remoteError(transport.DecodeError(f.Payload))
	}
	return nil, fmt.Errorf("%w: unexpected frame %d", envelope.ErrMalformed, f.Type)
}

// RemoteError is a refusal by the other node, with its code.
type RemoteError struct {
	Code, Message string
	err           error // the code's sentinel, or nil
}

func (e *RemoteError) Error() string { return "remote node: " + e.Code + ": " + e.Message }

// Unwrap makes errors.Is see the code's sentinel.
func (e *RemoteError) Unwrap() error { return e.err }

func remoteError(f transport.ErrorFrame) error {
	return &RemoteError{Code: f.Code, Message: f.Message, err: Codes.Sentinel(f.Code)}
}

// errorFrame is what a refusal looks like on the wire.
func errorFrame(err error) transport.ErrorFrame {
	code := Codes.Code(err)
	msg := err.Error()
	if Codes.Status(err) >= 500 {
		msg = code // details stay in this node's log
	}
	return transport.ErrorFrame{Code: code, Message: msg}
}

// permanent reports whether a refusal by a recipient node will not change
// on a retry: the document or the recipient is refused as such.
func permanent(err error) bool {
	// Not ErrNotMember or ErrSigner: the recipient node may not have the
	// configuration that admits this node or its certificate yet.
	for _, e := range []error{ErrBadMeta, ErrMetaTooBig, ErrTooLarge, ErrRecipient, ErrIDReused, ErrNotSender,
		envelope.ErrSignature, envelope.ErrRevoked} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
