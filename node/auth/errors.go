package auth

import "errors"

// Sentinel errors. Every error the package returns wraps one of them (with
// %w), and each has a stable machine code (ErrorCode) for the exchange-layer
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
)

var errorCodes = []struct {
	err  error
	code string
}{
	{ErrConfig, "auth_config"},
	{ErrSubsystem, "auth_subsystem"},
	{ErrNotFound, "auth_not_found"},
	{ErrInvalidClient, "auth_invalid_client"},
	{ErrMissingToken, "auth_missing_token"},
	{ErrInvalidToken, "auth_invalid_token"},
	{ErrExpired, "auth_token_expired"},
	{ErrRevoked, "auth_revoked"},
	{ErrStore, "auth_store"},
}

// ErrorCode returns the stable machine code of err's sentinel, or
// "internal" when err wraps none of them.
func ErrorCode(err error) string {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return "internal"
}
