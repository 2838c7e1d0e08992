package state

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Test them with errors.Is. Business errors come back from
// Apply as values (the command was refused and nothing changed); ErrNotLeader,
// ErrTimeout and ErrShutdown mean the write was never accepted; only
// ErrIndeterminate means it may or may not have been committed. Each sentinel
// has a stable machine code (Codes) so that a remote forwarder and the
// admin API return the same sentinel as the server itself.
var (
	// Configuration and plumbing.
	ErrBadConfig     = errors.New("membership: invalid configuration")
	ErrNotLeader     = errors.New("membership: not the leader")
	ErrTimeout       = errors.New("membership: timed out before the write was accepted")
	ErrIndeterminate = errors.New("membership: write outcome unknown (it may still commit)")
	ErrShutdown      = errors.New("membership: server is shut down")
	ErrBadCommand    = errors.New("membership: malformed command")
	ErrTooLarge      = errors.New("membership: command too large")
	ErrBootstrapped  = errors.New("membership: server already has cluster state")

	// Business errors, returned by Apply with the state unchanged.
	ErrNotInitialized        = errors.New("membership: registry instance not initialised")
	ErrAlreadyInitialized    = errors.New("membership: registry instance already initialised")
	ErrInvalidArgument       = errors.New("membership: invalid argument")
	ErrInvalidRegistration   = errors.New("membership: invalid registration")
	ErrClassificationRefused = errors.New("membership: top-secret data may not be exchanged over DXL")
	ErrClassificationCap     = errors.New("membership: service classification above the member's registered highest classification")
	ErrInvalidSchema         = errors.New("membership: invalid data-type schema reference")
	ErrWrongInstance         = errors.New("membership: identifier belongs to another instance")
	ErrBadCSR                = errors.New("membership: invalid certificate request")
	ErrCSRSignature          = errors.New("membership: certificate request signature does not verify (no proof of key possession)")
	ErrMemberSignature       = errors.New("membership: request not signed with the member's current signing key")
	ErrBadCertificate        = errors.New("membership: invalid certificate")
	ErrKeyMismatch           = errors.New("membership: certificate key does not match the request")
	ErrDuplicateMember       = errors.New("membership: member code already registered")
	ErrDuplicateRequest      = errors.New("membership: request ID already used")
	ErrDuplicateNode         = errors.New("membership: node peer ID already registered")
	ErrDuplicateSerial       = errors.New("membership: certificate serial already known")
	ErrUnknownMember         = errors.New("membership: unknown member")
	ErrUnknownRequest        = errors.New("membership: unknown registration request")
	ErrUnknownNode           = errors.New("membership: unknown node")
	ErrUnknownSubsystem      = errors.New("membership: unknown subsystem")
	ErrUnknownService        = errors.New("membership: unknown service")
	ErrUnknownGroup          = errors.New("membership: unknown group")
	ErrIllegalTransition     = errors.New("membership: illegal state transition")
	ErrUnknownOperator       = errors.New("membership: unknown operator")
	ErrNotApproved           = errors.New("membership: registration request not approved")
	ErrJoinTokenUnknown      = errors.New("membership: unknown join token")
	ErrJoinTokenUsed         = errors.New("membership: join token already used")
	ErrJoinTokenExpired      = errors.New("membership: join token expired")

	// Integrity: a history, or an export of it, whose hash chain does not
	// verify (VerifyHistory, VerifyHistoryExport).
	ErrHistoryChain = errors.New("membership: history hash chain broken")

	// Intake limits of the public registration endpoint (membership/api),
	// per remote address; never returned by Apply.
	ErrRateLimited    = errors.New("membership: too many registration requests from this address")
	ErrTooManyPending = errors.New("membership: too many pending registrations from this address")
	// HTTP API access errors.
	ErrUnauthenticated = errors.New("membership: missing or unknown credentials")
	ErrForbidden       = errors.New("membership: operation not allowed for this role")
)

// Codes is the registry's error table (internal/errcode): machine code and
// admin API status of every sentinel. Its order decides for an error that
// wraps two sentinels (ErrIndeterminate and ErrShutdown: "indeterminate").
var Codes = errcode.New(
	errcode.Entry{Err: ErrIndeterminate, Code: "indeterminate", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrNotLeader, Code: "not_leader", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrTimeout, Code: "timeout", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrShutdown, Code: "shutdown", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrTooLarge, Code: "too_large", Status: http.StatusRequestEntityTooLarge},
	errcode.Entry{Err: ErrBadCommand, Code: "bad_command", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrBadConfig, Code: "bad_config", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrBootstrapped, Code: "bootstrapped", Status: http.StatusConflict},
	errcode.Entry{Err: ErrNotInitialized, Code: "not_initialized", Status: http.StatusConflict},
	errcode.Entry{Err: ErrAlreadyInitialized, Code: "already_initialized", Status: http.StatusConflict},
	errcode.Entry{Err: ErrClassificationRefused, Code: "classification_refused", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrClassificationCap, Code: "classification_above_registration", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrInvalidSchema, Code: "invalid_schema", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrInvalidRegistration, Code: "invalid_registration", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrWrongInstance, Code: "wrong_instance", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrCSRSignature, Code: "csr_signature", Status: http.StatusBadRequest}, // wraps ErrBadCSR too
	errcode.Entry{Err: ErrMemberSignature, Code: "member_signature", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrBadCSR, Code: "bad_csr", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrBadCertificate, Code: "bad_certificate", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrKeyMismatch, Code: "key_mismatch", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrDuplicateMember, Code: "duplicate_member", Status: http.StatusConflict},
	errcode.Entry{Err: ErrDuplicateRequest, Code: "duplicate_request", Status: http.StatusConflict},
	errcode.Entry{Err: ErrDuplicateNode, Code: "duplicate_node", Status: http.StatusConflict},
	errcode.Entry{Err: ErrDuplicateSerial, Code: "duplicate_serial", Status: http.StatusConflict},
	errcode.Entry{Err: ErrUnknownMember, Code: "unknown_member", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrUnknownRequest, Code: "unknown_request", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrUnknownNode, Code: "unknown_node", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrUnknownSubsystem, Code: "unknown_subsystem", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrUnknownService, Code: "unknown_service", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrUnknownGroup, Code: "unknown_group", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrIllegalTransition, Code: "illegal_transition", Status: http.StatusConflict},
	errcode.Entry{Err: ErrUnknownOperator, Code: "unknown_operator", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrNotApproved, Code: "not_approved", Status: http.StatusConflict},
	errcode.Entry{Err: ErrJoinTokenUnknown, Code: "join_token_unknown", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrJoinTokenUsed, Code: "join_token_used", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrJoinTokenExpired, Code: "join_token_expired", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrHistoryChain, Code: "history_chain"},
	errcode.Entry{Err: ErrUnauthenticated, Code: "unauthenticated", Status: http.StatusUnauthorized},
	errcode.Entry{Err: ErrForbidden, Code: "forbidden", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrRateLimited, Code: "rate_limited", Status: http.StatusTooManyRequests},
	errcode.Entry{Err: ErrTooManyPending, Code: "too_many_pending", Status: http.StatusTooManyRequests},
	errcode.Entry{Err: ErrInvalidArgument, Code: "invalid_argument", Status: http.StatusBadRequest},
)

// NotLeaderError is returned for a leader-only operation on a follower. It
// names the leader when this server knows one, so a caller can retry there.
// errors.Is(err, ErrNotLeader) holds.
type NotLeaderError struct {
	LeaderID   string
	LeaderAddr string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return ErrNotLeader.Error() + " (no leader known)"
	}
	return fmt.Sprintf("%s (leader is %s at %s)", ErrNotLeader, e.LeaderID, e.LeaderAddr)
}

// Unwrap makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// caError translates a CA failure at approval into this package's terms.
// CAError maps an error of the CA to the registry sentinel it means
// (ErrBadCSR, ErrInvalidArgument), or wraps it.
func CAError(err error) error {
	switch {
	case errors.Is(err, ca.ErrCSRSignature):
		return fmt.Errorf("%w: %w: %v", ErrCSRSignature, ErrBadCSR, err)
	case errors.Is(err, ca.ErrCSRMalformed), errors.Is(err, ca.ErrCSRTooLarge),
		errors.Is(err, ca.ErrWeakKey), errors.Is(err, ca.ErrUnsupportedKey):
		return fmt.Errorf("%w: %v", ErrBadCSR, err)
	case errors.Is(err, ca.ErrBadRequest):
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return fmt.Errorf("membership: CA: %w", err)
}
