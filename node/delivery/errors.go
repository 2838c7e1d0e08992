package delivery

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
	"github.com/dxl-network/dxl/node/exchange"
)

// Sentinel errors. Every error of the package wraps one of them; Codes
// gives each its stable machine code and HTTP status.
var (
	ErrBadMeta     = errors.New("delivery: malformed document metadata")
	ErrMetaTooBig  = errors.New("delivery: document metadata too large")
	ErrTooLarge    = errors.New("delivery: document content too large")
	ErrRecipient   = errors.New("delivery: recipient unknown or not active in the global configuration")
	ErrTypeRefused = errors.New("delivery: the recipient does not take documents of that data type")
	ErrIDReused    = errors.New("delivery: document ID already used for another document")
	ErrNotFound    = errors.New("delivery: no such document")
	ErrNotYours    = errors.New("delivery: the document belongs to another information system")
	ErrState       = errors.New("delivery: not possible in the document's state")
	ErrBadChunk    = errors.New("delivery: content does not match its signed hash")
	ErrBadReceipt  = errors.New("delivery: receipt not valid for this document")
	ErrNotSender   = errors.New("delivery: peer is not a node of the document's sender member")
	ErrStorage     = errors.New("delivery: storage failure")
	ErrUnavailable = errors.New("delivery: recipient node unreachable")
)

var own = errcode.New(
	errcode.Entry{Err: ErrBadMeta, Code: "document_bad_metadata", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrMetaTooBig, Code: "document_metadata_too_large", Status: http.StatusRequestHeaderFieldsTooLarge},
	errcode.Entry{Err: ErrTooLarge, Code: "document_too_large", Status: http.StatusRequestEntityTooLarge},
	errcode.Entry{Err: ErrRecipient, Code: "document_unknown_recipient", Status: http.StatusUnprocessableEntity},
	errcode.Entry{Err: ErrTypeRefused, Code: "document_type_refused", Status: http.StatusUnprocessableEntity},
	errcode.Entry{Err: ErrIDReused, Code: "document_id_reused", Status: http.StatusConflict},
	errcode.Entry{Err: ErrNotFound, Code: "document_not_found", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrNotYours, Code: "document_not_yours", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrState, Code: "document_state", Status: http.StatusConflict},
	errcode.Entry{Err: ErrBadChunk, Code: "document_content_mismatch", Status: http.StatusUnprocessableEntity},
	errcode.Entry{Err: ErrBadReceipt, Code: "document_bad_receipt", Status: http.StatusUnprocessableEntity},
	errcode.Entry{Err: ErrNotSender, Code: "document_not_sender", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrStorage, Code: "document_storage", Status: http.StatusInsufficientStorage},
	errcode.Entry{Err: ErrUnavailable, Code: "document_recipient_unreachable", Status: http.StatusBadGateway},
)

// Codes is the package's error table, then the node's (exchange.Codes:
// authentication, configuration, envelope checks).
var Codes = errcode.Join(own, exchange.Codes)
