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
)
