package node

import "github.com/dxl-network/dxl/node/exchange"

// Sentinel errors of the node (node/exchange); exchange.Codes and
// exchange.Status give their codes and statuses.
var (
	ErrConfig          = exchange.ErrConfig
	ErrNotEnrolled     = exchange.ErrNotEnrolled
	ErrBadRequest      = exchange.ErrBadRequest
	ErrBadRequestID    = exchange.ErrBadRequestID
	ErrUnauthenticated = exchange.ErrUnauthenticated
	ErrClientMismatch  = exchange.ErrClientMismatch
	ErrUnknownService  = exchange.ErrUnknownService
	ErrServiceRetired  = exchange.ErrServiceRetired
	ErrAccessDenied    = exchange.ErrAccessDenied
	ErrRateLimited     = exchange.ErrRateLimited
	ErrTooLarge        = exchange.ErrTooLarge
	ErrNoConfig        = exchange.ErrNoConfig
	ErrNotMember       = exchange.ErrNotMember
	ErrUnreachable     = exchange.ErrUnreachable
	ErrBackend         = exchange.ErrBackend
	ErrBackendTimeout  = exchange.ErrBackendTimeout
	ErrRemote          = exchange.ErrRemote
	ErrTimeout         = exchange.ErrTimeout
	ErrTimestampOutage = exchange.ErrTimestampOutage
	ErrAccessExists    = exchange.ErrAccessExists
	ErrAccessNotFound  = exchange.ErrAccessNotFound
	ErrLimitNotFound   = exchange.ErrLimitNotFound
)

// RemoteError is an exchange-layer error reported by the provider node.
type RemoteError = exchange.RemoteError

// ErrorBody is the body of every exchange-layer error.
type ErrorBody = exchange.ErrorBody
