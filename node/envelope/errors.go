package envelope

import "errors"

// Sentinel errors. Every error the package returns wraps one of them (with
// %w), and each has a stable machine code (ErrorCode) that the node puts in
// its exchange-layer error body and X-DXL-Error header.
var (
	ErrMalformed      = errors.New("envelope: malformed")
	ErrTooLarge       = errors.New("envelope: too large")
	ErrSignature      = errors.New("envelope: signature does not verify")
	ErrSigner         = errors.New("envelope: signer certificate not acceptable")
	ErrRevoked        = errors.New("envelope: signer certificate revoked")
	ErrClockSkew      = errors.New("envelope: time outside the clock-skew window")
	ErrReplay         = errors.New("envelope: request ID already seen")
	ErrBodyHash       = errors.New("envelope: body does not match its hash")
	ErrBinding        = errors.New("envelope: response not bound to the request")
	ErrUnsupportedKey = errors.New("envelope: unsupported key type")
	ErrOverloaded     = errors.New("envelope: replay cache full")
)

var errorCodes = []struct {
	err  error
	code string
}{
	{ErrMalformed, "envelope_malformed"},
	{ErrTooLarge, "envelope_too_large"},
	{ErrSignature, "envelope_signature"},
	{ErrSigner, "envelope_signer"},
	{ErrRevoked, "envelope_revoked"},
	{ErrClockSkew, "envelope_clock_skew"},
	{ErrReplay, "envelope_replay"},
	{ErrBodyHash, "envelope_body_hash"},
	{ErrBinding, "envelope_binding"},
	{ErrUnsupportedKey, "envelope_unsupported_key"},
	{ErrOverloaded, "envelope_overloaded"},
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
