package node

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/services"
)

// Sentinel errors. Every error the node returns wraps one of them; Code and
// Status give the exchange-layer error body's code and the HTTP status an
// information system sees.
var (
	ErrConfig          = errors.New("node: invalid configuration")
	ErrNotEnrolled     = errors.New("node: not enrolled (no certificates yet)")
	ErrBadRequest      = errors.New("node: malformed request")
	ErrBadRequestID    = errors.New("node: X-Request-ID is not a UUID version 4")
	ErrUnauthenticated = errors.New("node: information system not authenticated")
	ErrClientMismatch  = errors.New("node: client header does not match the authenticated information system")
	ErrUnknownService  = errors.New("node: unknown service")
	ErrServiceRetired  = errors.New("node: service retired")
	ErrAccessDenied    = errors.New("node: access denied")
	ErrRateLimited     = errors.New("node: rate limit exceeded")
	ErrTooLarge        = errors.New("node: body too large")
	ErrNoConfig        = confview.ErrNoConfig
	ErrNotMember       = errors.New("node: peer is not an admitted node")
	ErrUnreachable     = errors.New("node: provider unreachable")
	ErrBackend         = errors.New("node: backend unreachable")
	ErrBackendTimeout  = errors.New("node: backend timed out")
	ErrRemote          = errors.New("node: provider node refused the call")
	ErrTimeout         = errors.New("node: call timed out")
)

var codes = []struct {
	err    error
	code   string
	status int
}{
	{ErrConfig, "config", http.StatusInternalServerError},
	{ErrNotEnrolled, "not_enrolled", http.StatusServiceUnavailable},
	{ErrBadRequest, "bad_request", http.StatusBadRequest},
	{ErrBadRequestID, "bad_request_id", http.StatusBadRequest},
	{ErrUnauthenticated, "unauthenticated", http.StatusUnauthorized},
	{ErrClientMismatch, "client_mismatch", http.StatusForbidden},
	{ErrUnknownService, "unknown_service", http.StatusNotFound},
	{ErrServiceRetired, "service_retired", http.StatusGone},
	{ErrAccessDenied, "access_denied", http.StatusForbidden},
	{ErrRateLimited, "rate_limited", http.StatusTooManyRequests},
	{ErrTooLarge, "too_large", http.StatusRequestEntityTooLarge},
	{ErrNoConfig, "no_config", http.StatusServiceUnavailable},
	{ErrNotMember, "not_member", http.StatusForbidden},
	{ErrUnreachable, "provider_unreachable", http.StatusBadGateway},
	{ErrBackend, "backend_unreachable", http.StatusBadGateway},
	{ErrBackendTimeout, "backend_timeout", http.StatusGatewayTimeout},
	{ErrRemote, "remote_error", http.StatusBadGateway},
	{ErrTimeout, "timeout", http.StatusGatewayTimeout},
	{ErrTimestampOutage, "timestamp_unavailable", http.StatusServiceUnavailable},
	{msglog.ErrNotFound, "not_found", http.StatusNotFound},
	{msglog.ErrChain, "chain_broken", http.StatusInternalServerError},
	{msglog.ErrEvidence, "evidence_invalid", http.StatusUnprocessableEntity},
}

// remoteStatus maps codes a provider node sends in an error frame to the
// status the consumer's information system sees.
var remoteStatus = map[string]int{
	"unknown_service":       http.StatusNotFound,
	"service_retired":       http.StatusGone,
	"access_denied":         http.StatusForbidden,
	"rate_limited":          http.StatusTooManyRequests,
	"too_large":             http.StatusRequestEntityTooLarge,
	"request_invalid":       http.StatusBadRequest,
	"backend_timeout":       http.StatusGatewayTimeout,
	"bad_request":           http.StatusBadRequest,
	"timestamp_unavailable": http.StatusServiceUnavailable,
}

// Code returns the stable machine code of err: the node's own sentinels,
// then those of envelope, auth and services; "internal" otherwise.
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	if c := envelope.Codes.Code(err); c != "internal" {
		return c
	}
	if c := auth.Codes.Code(err); c != "internal" {
		return c
	}
	if c := services.Codes.Code(err); c != "internal" {
		return c
	}
	return "internal"
}

// Status returns the HTTP status for err.
func Status(err error) int {
	var re *RemoteError
	if errors.As(err, &re) {
		if s, ok := remoteStatus[re.Code]; ok {
			return s
		}
		return http.StatusBadGateway
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.status
		}
	}
	switch {
	case errors.Is(err, auth.ErrMissingToken), errors.Is(err, auth.ErrInvalidToken),
		errors.Is(err, auth.ErrExpired), errors.Is(err, auth.ErrRevoked), errors.Is(err, auth.ErrInvalidClient):
		return http.StatusUnauthorized
	case envelope.Codes.Code(err) != "internal":
		return http.StatusBadGateway
	case errors.Is(err, services.ErrValidation):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// RemoteError is an exchange-layer error reported by the provider node in
// an error frame (transport.ErrorFrame).
type RemoteError struct {
	Code    string
	Message string
	// RetryAfter is set for rate_limited.
	RetryAfter string
}

func (e *RemoteError) Error() string { return "provider node: " + e.Code + ": " + e.Message }

// Unwrap makes a RemoteError an ErrRemote.
func (e *RemoteError) Unwrap() error { return ErrRemote }
