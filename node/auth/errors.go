package auth

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Every error the package returns wraps one of them (with
// %w), and each has a stable machine code (Codes) for the exchange-layer
// error body and the X-DXL-Error header.
var (
	ErrConfig        = errors.New("auth: invalid configuration")
	ErrSubsystem     = errors.New("auth: invalid client subsystem ID")
	ErrNotFound      = errors.New("auth: credential not found")
	ErrInvalidClient = errors.New("auth: client authentication failed")
	ErrMissingToken  = errors.New("auth: bearer token missing")
	ErrInvalidToken  = errors.New("auth: invalid access token")
	ErrExpired       = errors.New("auth: access token expired or not yet valid")
	ErrRevoked       = errors.New("auth: credential revoked or rotated")
	ErrStore         = errors.New("auth: credential store failure")
	ErrThrottled     = errors.New("auth: too many failed token requests")

	// Signed requests (signed.go): each refusal has its own code, so an
	// information system's developer can tell a wrong canonical request
	// from a clock off or a replay.
	ErrSignedMalformed = errors.New("auth: malformed signed request")
	ErrUnknownKey      = errors.New("auth: unknown access key")
	ErrKeyRevoked      = errors.New("auth: access key revoked")
	ErrAlgorithm       = errors.New("auth: signature algorithm not allowed for this access key")
	ErrBadSignature    = errors.New("auth: request signature does not match")
	ErrBodyMismatch    = errors.New("auth: body does not match X-DXL-Content-SHA256")
	ErrStale           = errors.New("auth: X-DXL-Date outside the accepted clock skew")
	ErrReplayed        = errors.New("auth: signed request already seen")
	ErrSessionExpired  = errors.New("auth: session key expired or unknown")
	ErrBusy            = errors.New("auth: too many signed requests or sessions held")
)

// Codes is the package's error table (internal/errcode).
var Codes = errcode.New(
	errcode.Entry{Err: ErrConfig, Code: "auth_config", Status: http.StatusInternalServerError},
	errcode.Entry{Err: ErrSubsystem, Code: "auth_subsystem", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrNotFound, Code: "auth_not_found", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrInvalidClient, Code: "auth_invalid_client", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrMissingToken, Code: "auth_missing_token", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrInvalidToken, Code: "auth_invalid_token", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrExpired, Code: "auth_token_expired", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrRevoked, Code: "auth_revoked", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrStore, Code: "auth_store", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrThrottled, Code: "auth_throttled", Status: http.StatusTooManyRequests},
	errcode.Entry{Err: ErrSignedMalformed, Code: "auth_signature_malformed", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrUnknownKey, Code: "auth_unknown_access_key", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrKeyRevoked, Code: "auth_access_key_revoked", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrAlgorithm, Code: "auth_algorithm_refused", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrBadSignature, Code: "auth_signature_invalid", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrBodyMismatch, Code: "auth_body_mismatch", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrStale, Code: "auth_signature_stale", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrReplayed, Code: "auth_replayed", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrSessionExpired, Code: "auth_session_expired", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrBusy, Code: "auth_busy", Status: http.StatusServiceUnavailable},
)
