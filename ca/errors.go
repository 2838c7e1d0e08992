package ca

import "errors"

// Sentinel errors. Each has a stable machine code (see errorCodes) used by
// the admin API, so a Client returns the same sentinel as the CA itself.
var (
	ErrExists         = errors.New("ca: directory already holds a CA")
	ErrNotFound       = errors.New("ca: no CA in directory")
	ErrBadConfig      = errors.New("ca: invalid configuration")
	ErrCSRMalformed   = errors.New("ca: malformed certificate request")
	ErrCSRTooLarge    = errors.New("ca: certificate request too large")
	ErrCSRSignature   = errors.New("ca: certificate request self-signature does not verify")
	ErrWeakKey        = errors.New("ca: key too weak")
	ErrUnsupportedKey = errors.New("ca: unsupported key type")
	ErrUnknownProfile = errors.New("ca: unknown profile")
	ErrBadRequest     = errors.New("ca: invalid issuance request")
	ErrUnknownSerial  = errors.New("ca: unknown certificate serial")
	ErrAlreadyRevoked = errors.New("ca: certificate already revoked")
	ErrBadReason      = errors.New("ca: unknown revocation reason")
	ErrLocked         = errors.New("ca: database locked by another process")
	ErrUnauthorized   = errors.New("ca: unauthorized")
)

var errorCodes = map[error]string{
	ErrExists:         "ca_exists",
	ErrNotFound:       "ca_not_found",
	ErrBadConfig:      "bad_config",
	ErrCSRMalformed:   "csr_malformed",
	ErrCSRTooLarge:    "csr_too_large",
	ErrCSRSignature:   "csr_signature",
	ErrWeakKey:        "weak_key",
	ErrUnsupportedKey: "unsupported_key",
	ErrUnknownProfile: "unknown_profile",
	ErrBadRequest:     "bad_request",
	ErrUnknownSerial:  "unknown_serial",
	ErrAlreadyRevoked: "already_revoked",
	ErrBadReason:      "bad_reason",
	ErrLocked:         "locked",
	ErrUnauthorized:   "unauthorized",
}

// ErrorCode returns the machine code of err's sentinel, or "internal".
func ErrorCode(err error) string {
	for e, code := range errorCodes {
		if errors.Is(err, e) {
			return code
		}
	}
	return "internal"
}

func errorForCode(code string) error {
	for e, c := range errorCodes {
		if c == code {
			return e
		}
	}
	return nil
}
