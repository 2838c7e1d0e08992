package envelope

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Every error the package returns wraps one of them (with
// %w), and each has a stable machine code (Codes) that the node puts in
// its exchange-layer error body and X-DXL-Error header.
var (
	ErrMalformed      = errors.New("envelope: malformed")
	ErrTooLarge       = errors.New("envelope: too large")
	ErrSignature      = errors.New("envelope: signature does not verify")
	ErrSigner         = errors.New("envelope: signer certificate not acceptable")
	ErrRevoked        = errors.New("envelope: signer certificate revoked")
	ErrClockSkew      = errors.New("envelope: time outside the clock-skew window")
	ErrReplay         = errors.New("envelope: request ID already seen")
	ErrBodyHash       = errors.New("envelope: body does not match its hash")
	ErrBinding        = errors.New("envelope: response not bound to the request")
	ErrUnsupportedKey = errors.New("envelope: unsupported key type")
	ErrOverloaded     = errors.New("envelope: replay cache full")
)

// Codes is the package's error table (internal/errcode).
var Codes = errcode.New(
	errcode.Entry{Err: ErrMalformed, Code: "envelope_malformed", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrTooLarge, Code: "envelope_too_large", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrSignature, Code: "envelope_signature", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrSigner, Code: "envelope_signer", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrRevoked, Code: "envelope_revoked", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrClockSkew, Code: "envelope_clock_skew", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrReplay, Code: "envelope_replay", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrBodyHash, Code: "envelope_body_hash", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrBinding, Code: "envelope_binding", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrUnsupportedKey, Code: "envelope_unsupported_key", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrOverloaded, Code: "envelope_overloaded", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrSealed, Code: "envelope_sealed", Status: http.StatusBadGateway},
)
