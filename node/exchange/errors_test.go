package exchange

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/msglog"
)

func TestCodes(t *testing.T) {
	for _, c := range []struct {
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
		{ErrSchemaMismatch, "schema_mismatch", http.StatusServiceUnavailable},
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
	} {
		err := fmt.Errorf("wrapped: %w", c.err)
		if Codes.Code(err) != c.code || Status(err) != c.status {
			t.Errorf("%v: %s %d", c.err, Codes.Code(err), Status(err))
		}
	}
	if Codes.Code(fmt.Errorf("x: %w", envelope.ErrReplay)) != "envelope_replay" || Status(fmt.Errorf("x: %w", envelope.ErrReplay)) != http.StatusBadGateway {
		t.Fatal("envelope errors")
	}
	if Codes.Code(errors.New("x")) != "internal" || Status(errors.New("x")) != http.StatusInternalServerError {
		t.Fatal("unknown errors")
	}
}

// TestRemoteStatus pins the statuses of the codes a provider node reports.
func TestRemoteStatus(t *testing.T) {
	for code, status := range map[string]int{
		"unknown_service":       http.StatusNotFound,
		"service_retired":       http.StatusGone,
		"access_denied":         http.StatusForbidden,
		"schema_mismatch":       http.StatusServiceUnavailable,
		"rate_limited":          http.StatusTooManyRequests,
		"too_large":             http.StatusRequestEntityTooLarge,
		"spool_failed":          http.StatusInsufficientStorage,
		"request_invalid":       http.StatusBadRequest,
		"backend_timeout":       http.StatusGatewayTimeout,
		"bad_request":           http.StatusBadRequest,
		"timestamp_unavailable": http.StatusServiceUnavailable,
		"not_member":            http.StatusBadGateway,
		"envelope_replay":       http.StatusBadGateway,
		"garbage":               http.StatusBadGateway,
	} {
		if got := Status(&RemoteError{Code: code}); got != status {
			t.Errorf("%s: %d, want %d", code, got, status)
		}
	}
}
