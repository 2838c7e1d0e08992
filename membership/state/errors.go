package state

import (
	"errors"
	"fmt"

	"github.com/dxl-network/dxl/ca"
)

// Sentinel errors. Test them with errors.Is. Business errors come back from
// Apply as values (the command was refused and nothing changed); ErrNotLeader,
// ErrTimeout and ErrShutdown mean the write was never accepted; only
// ErrIndeterminate means it may or may not have been committed. Each sentinel
// has a stable machine code (ErrorCode) so that a remote forwarder and the
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
	ErrWrongInstance         = errors.New("membership: identifier belongs to another instance")
	ErrBadCSR                = errors.New("membership: invalid certificate request")
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

	// HTTP API access errors.
	ErrUnauthenticated = errors.New("membership: missing or unknown credentials")
	ErrForbidden       = errors.New("membership: operation not allowed for this role")
)

var errorCodes = map[error]string{
	ErrBadConfig:             "bad_config",
	ErrNotLeader:             "not_leader",
	ErrTimeout:               "timeout",
	ErrIndeterminate:         "indeterminate",
	ErrShutdown:              "shutdown",
	ErrBadCommand:            "bad_command",
	ErrTooLarge:              "too_large",
	ErrBootstrapped:          "bootstrapped",
	ErrNotInitialized:        "not_initialized",
	ErrAlreadyInitialized:    "already_initialized",
	ErrInvalidArgument:       "invalid_argument",
	ErrInvalidRegistration:   "invalid_registration",
	ErrClassificationRefused: "classification_refused",
	ErrWrongInstance:         "wrong_instance",
	ErrBadCSR:                "bad_csr",
	ErrBadCertificate:        "bad_certificate",
	ErrKeyMismatch:           "key_mismatch",
	ErrDuplicateMember:       "duplicate_member",
	ErrDuplicateRequest:      "duplicate_request",
	ErrDuplicateNode:         "duplicate_node",
	ErrDuplicateSerial:       "duplicate_serial",
	ErrUnknownMember:         "unknown_member",
	ErrUnknownRequest:        "unknown_request",
	ErrUnknownNode:           "unknown_node",
	ErrUnknownSubsystem:      "unknown_subsystem",
	ErrUnknownService:        "unknown_service",
	ErrUnknownGroup:          "unknown_group",
	ErrIllegalTransition:     "illegal_transition",
	ErrUnknownOperator:       "unknown_operator",
	ErrNotApproved:           "not_approved",
	ErrJoinTokenUnknown:      "join_token_unknown",
	ErrJoinTokenUsed:         "join_token_used",
	ErrJoinTokenExpired:      "join_token_expired",
	ErrHistoryChain:          "history_chain",
	ErrUnauthenticated:       "unauthenticated",
	ErrForbidden:             "forbidden",
}

// errorOrder fixes the order ErrorCode tries sentinels, so an error that
// wraps two of them (ErrIndeterminate and ErrShutdown) always maps the same way.
var errorOrder = []error{
	ErrIndeterminate, ErrNotLeader, ErrTimeout, ErrShutdown, ErrTooLarge, ErrBadCommand, ErrBadConfig, ErrBootstrapped,
	ErrNotInitialized, ErrAlreadyInitialized, ErrClassificationRefused, ErrInvalidRegistration,
	ErrWrongInstance, ErrBadCSR, ErrBadCertificate, ErrKeyMismatch, ErrDuplicateMember,
	ErrDuplicateRequest, ErrDuplicateNode, ErrDuplicateSerial, ErrUnknownMember, ErrUnknownRequest,
	ErrUnknownNode, ErrUnknownSubsystem, ErrUnknownService, ErrUnknownGroup, ErrIllegalTransition,
	ErrUnknownOperator, ErrNotApproved, ErrJoinTokenUnknown, ErrJoinTokenUsed, ErrJoinTokenExpired, ErrHistoryChain, ErrUnauthenticated, ErrForbidden, ErrInvalidArgument,
}

// ErrorCode returns the machine code of err's sentinel, "" for nil, or
// "internal" for an error that wraps none.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, e := range errorOrder {
		if errors.Is(err, e) {
			return errorCodes[e]
		}
	}
	return "internal"
}

// ErrorForCode returns the sentinel with the machine code, or nil.
func ErrorForCode(code string) error {
	for e, c := range errorCodes {
		if c == code {
			return e
		}
	}
	return nil
}

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
	case errors.Is(err, ca.ErrCSRMalformed), errors.Is(err, ca.ErrCSRSignature), errors.Is(err, ca.ErrCSRTooLarge),
		errors.Is(err, ca.ErrWeakKey), errors.Is(err, ca.ErrUnsupportedKey):
		return fmt.Errorf("%w: %v", ErrBadCSR, err)
	case errors.Is(err, ca.ErrBadRequest):
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return fmt.Errorf("membership: CA: %w", err)
}
