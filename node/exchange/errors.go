package exchange

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/services"
)

// Sentinel errors. Every error the node returns wraps one of them; Codes
// and Status give the exchange-layer error body's code and the HTTP status
// an information system sees.
var (
	ErrConfig          = errors.New("node: invalid configuration")
	ErrNotEnrolled     = errors.New("node: not enrolled (no certificates yet)")
	ErrBadRequest      = errors.New("node: malformed request")
	ErrBadRequestID    = errors.New("node: X-Request-ID is not a UUID version 4")
	ErrMethod          = errors.New("node: method not allowed for this endpoint")
	ErrUnauthenticated = errors.New("node: information system not authenticated")
	ErrClientMismatch  = errors.New("node: client header does not match the authenticated information system")
	// ErrUnknownClient: the calling subsystem is not registered and active
	// in the signed configuration.
	ErrUnknownClient = errors.New("node: client subsystem not registered in the global configuration")
	// ErrMemberSuspended and ErrMemberRevoked: the signed configuration
	// lists the member of a party to the call (the provider, at the
	// consumer; the client, at the provider) as suspended or revoked.
	ErrMemberSuspended = errors.New("node: member suspended")
	ErrMemberRevoked   = errors.New("node: member revoked")
	ErrUnknownService  = errors.New("node: unknown service")
	ErrServiceRetired  = errors.New("node: service retired")
	// ErrClassificationRefused: the service's classification forbids the
	// call over the network (CheckClassification).
	ErrClassificationRefused = errors.New("node: service classification refuses the call")
	ErrAccessDenied          = errors.New("node: access denied")
	// ErrSchemaMismatch: the provider node's schema files for the service
	// version are not the ones its catalogue entry publishes (their
	// SHA-256 differ); the node serves the version only under the
	// published contract.
	ErrSchemaMismatch = errors.New("node: the provider's schemas differ from the published ones")
	ErrRateLimited    = errors.New("node: rate limit exceeded")
	ErrTooLarge       = errors.New("node: body too large")
	// ErrSpool: the node could not hold a body in its spool (its disk is
	// full or failing).
	ErrSpool = errors.New("node: no room to hold the body")
	// ErrHeaders: more headers, or larger, than an envelope carries
	// (envelope.MaxHeaders, envelope.MaxHeaderBytes).
	ErrHeaders        = errors.New("node: too many or too large headers")
	ErrNoConfig       = confview.ErrNoConfig
	ErrNotMember      = errors.New("node: peer is not an admitted node")
	ErrUnreachable    = errors.New("node: provider unreachable")
	ErrBackend        = errors.New("node: backend unreachable")
	ErrBackendTimeout = errors.New("node: backend timed out")
	ErrRemote         = errors.New("node: provider node refused the call")
	ErrTimeout        = errors.New("node: call timed out")
	// ErrDuplicate: the provider member has seen the request ID within
	// the replay window (node/replay); the request was not executed again.
	ErrDuplicate = errors.New("node: request ID already used")
	// ErrAccessExists and ErrAccessNotFound: an access right granted
	// twice, or revoked while not granted (the admin API's /v1/access).
	ErrAccessExists   = errors.New("node: access right already granted")
	ErrAccessNotFound = errors.New("node: no such access right")
	// ErrLimitNotFound: a rate-limit override to remove that is not set.
	ErrLimitNotFound = errors.New("node: no such rate-limit override")
	// ErrOwnerUnreachable: the provider node could not ask the node of its
	// member that decides the request ID, and the method is not idempotent.
	ErrOwnerUnreachable = errors.New("node: the request ID's deciding node is unreachable")
	// ErrTimestampOutage: every TSA has been unreachable for longer than
	// the acceptable-failure period and the node refuses new exchanges.
	ErrTimestampOutage = msglog.ErrTimestampOutage
)

// own is the node's own part of Codes, with the statuses it answers with.
var own = errcode.New(
	errcode.Entry{Err: ErrConfig, Code: "config", Status: http.StatusInternalServerError},
	errcode.Entry{Err: ErrNotEnrolled, Code: "not_enrolled", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrBadRequest, Code: "bad_request", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrBadRequestID, Code: "bad_request_id", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrMethod, Code: "method_not_allowed", Status: http.StatusMethodNotAllowed},
	errcode.Entry{Err: ErrUnauthenticated, Code: "unauthenticated", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrClientMismatch, Code: "client_mismatch", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrUnknownClient, Code: "unknown_client", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrMemberSuspended, Code: "member_suspended", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrMemberRevoked, Code: "member_revoked", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrUnknownService, Code: "unknown_service", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrServiceRetired, Code: "service_retired", Status: http.StatusGone},
	errcode.Entry{Err: ErrAccessDenied, Code: "access_denied", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrClassificationRefused, Code: "classification_refused", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrSchemaMismatch, Code: "schema_mismatch", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrRateLimited, Code: "rate_limited", Status: http.StatusTooManyRequests},
	errcode.Entry{Err: ErrTooLarge, Code: "too_large", Status: http.StatusRequestEntityTooLarge},
	errcode.Entry{Err: ErrSpool, Code: "spool_failed", Status: http.StatusInsufficientStorage},
	errcode.Entry{Err: ErrHeaders, Code: "headers_too_large", Status: http.StatusRequestHeaderFieldsTooLarge},
	errcode.Entry{Err: ErrNoConfig, Code: "no_config", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrNotMember, Code: "not_member", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrUnreachable, Code: "provider_unreachable", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrBackend, Code: "backend_unreachable", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrBackendTimeout, Code: "backend_timeout", Status: http.StatusGatewayTimeout},
	errcode.Entry{Err: ErrRemote, Code: "remote_error", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrTimeout, Code: "timeout", Status: http.StatusGatewayTimeout},
	errcode.Entry{Err: ErrDuplicate, Code: "duplicate_request", Status: http.StatusConflict},
	errcode.Entry{Err: ErrAccessExists, Code: "access_exists", Status: http.StatusConflict},
	errcode.Entry{Err: ErrAccessNotFound, Code: "access_not_found", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrLimitNotFound, Code: "rate_limit_not_found", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrOwnerUnreachable, Code: "replay_owner_unreachable", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrTimestampOutage, Code: "timestamp_unavailable", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: msglog.ErrNotFound, Code: "not_found", Status: http.StatusNotFound},
	errcode.Entry{Err: msglog.ErrChain, Code: "chain_broken", Status: http.StatusInternalServerError},
	errcode.Entry{Err: msglog.ErrEvidence, Code: "evidence_invalid", Status: http.StatusUnprocessableEntity},
)

// Codes is the node's error table: its own sentinels, then those of
// envelope, auth and services ("internal" otherwise). Codes.Code is the
// code of every error the node reports.
var Codes = errcode.Join(own, envelope.Codes, auth.Codes, services.Codes)

// passThrough are the codes a provider node sends in an error frame whose
// status (Codes.StatusOfCode) the consumer's information system sees; any
// other remote code is 502 Bad Gateway.
var passThrough = map[string]bool{
	"unknown_service": true, "service_retired": true, "access_denied": true,
	"rate_limited": true, "too_large": true, "spool_failed": true, "request_invalid": true,
	"schema_invalid":  true,
	"backend_timeout": true, "bad_request": true, "timestamp_unavailable": true,
	"duplicate_request": true, "replay_owner_unreachable": true,
	"unknown_client": true, "member_suspended": true, "member_revoked": true,
	"classification_refused": true, "schema_mismatch": true,
}

// RemoteStatus is the status of a code a provider node reported.
func RemoteStatus(code string) int {
	if passThrough[code] {
		if s, ok := Codes.StatusOfCode(code); ok {
			return s
		}
	}
	return http.StatusBadGateway
}

// Status returns the HTTP status for err: a provider node's code by
// RemoteStatus, the node's own sentinels by their entry; of the tables
// below, envelope errors are 502, auth's token and client refusals 401 and
// services' request validation 400; anything else is 500.
func Status(err error) int {
	var re *RemoteError
	if errors.As(err, &re) {
		return RemoteStatus(re.Code)
	}
	if e, ok := own.Lookup(err); ok {
		return e.Status
	}
	if auth.Codes.Status(err) == http.StatusUnauthorized {
		return http.StatusUnauthorized
	}
	if _, ok := envelope.Codes.Lookup(err); ok {
		return http.StatusBadGateway
	}
	if errors.Is(err, services.ErrValidation) || errors.Is(err, services.ErrSchema) {
		return http.StatusBadRequest
	}
	if errors.Is(err, services.ErrIPDenied) {
		return http.StatusForbidden
	}
	if errors.Is(err, services.ErrResponseSchema) || errors.Is(err, services.ErrMask) {
		return http.StatusBadGateway
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

// ReportedCode is err's code as an information system sees it: a provider
// node's own code for a RemoteError, Codes.Code otherwise.
func ReportedCode(err error) string {
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	return Codes.Code(err)
}
