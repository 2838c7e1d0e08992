package ca

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Each has a stable machine code and HTTP status in Codes,
// used by the admin API, so a Client returns the same sentinel as the CA
// itself.
var (
	ErrExists         = errors.New("ca: directory already holds a CA")
	ErrNotFound       = errors.New("ca: no CA in directory")
	ErrBadConfig      = errors.New("ca: invalid configuration")
	ErrCSRMalformed   = errors.New("ca: malformed certificate request")
	ErrCSRTooLarge    = errors.New("ca: certificate request too large")
	ErrCSRSignature   = errors.New("ca: certificate request self-signature does not verify")
	ErrWeakKey        = errors.New("ca: key too weak")
	ErrUnsupportedKey = errors.New("ca: unsupported key type")
	ErrUnknownProfile = errors.New("ca: unknown profile")
	ErrBadRequest     = errors.New("ca: invalid issuance request")
	ErrUnknownSerial  = errors.New("ca: unknown certificate serial")
	ErrAlreadyRevoked = errors.New("ca: certificate already revoked")
	ErrBadReason      = errors.New("ca: unknown revocation reason")
	ErrLocked         = errors.New("ca: database locked by another process")
	ErrUnauthorized   = errors.New("ca: unauthorized")
)

// Codes is the CA's error table (sentinel → code → admin API status).
var Codes = errcode.New(
	errcode.Entry{Err: ErrExists, Code: "ca_exists", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrNotFound, Code: "ca_not_found", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrBadConfig, Code: "bad_config", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrCSRMalformed, Code: "csr_malformed", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrCSRTooLarge, Code: "csr_too_large", Status: http.StatusRequestEntityTooLarge},
	errcode.Entry{Err: ErrCSRSignature, Code: "csr_signature", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrWeakKey, Code: "weak_key", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrUnsupportedKey, Code: "unsupported_key", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrUnknownProfile, Code: "unknown_profile", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrBadRequest, Code: "bad_request", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrUnknownSerial, Code: "unknown_serial", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrAlreadyRevoked, Code: "already_revoked", Status: http.StatusConflict},
	errcode.Entry{Err: ErrBadReason, Code: "bad_reason", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrLocked, Code: "locked", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrUnauthorized, Code: "unauthorized", Status: http.StatusBadRequest},
)
