package globalconf

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Test them with errors.Is; every error this package
// returns wraps exactly one of them (Fetch may wrap several, one per server
// it tried). Each has a stable machine code (Codes) used in HTTP error
// bodies and CLI --json output.
var (
	// ErrMalformed: the signed wire form or the document inside it does not
	// parse strictly, or the document breaks a rule of Document.Validate.
	ErrMalformed = errors.New("globalconf: malformed signed configuration")
	// ErrTooLarge: the signed configuration exceeds MaxSignedSize.
	ErrTooLarge = errors.New("globalconf: signed configuration too large")
	// ErrSignature: the signature does not verify over the signing input, or
	// the algorithm is unknown or does not fit the signer's key.
	ErrSignature = errors.New("globalconf: signature does not verify")
	// ErrUnknownSigner: the signer certificate is not one of the anchor's
	// config-signing certificates (or, for Sign, does not match the key).
	ErrUnknownSigner = errors.New("globalconf: signer is not a config-signing certificate of the anchor")
	// ErrChain: the signer certificate does not chain to the anchor's CA root
	// at the verification time, or the held configuration revokes it.
	ErrChain = errors.New("globalconf: signer certificate does not chain to the anchor's CA root")
	// ErrInstance: the configuration is for another instance than the anchor's.
	ErrInstance = errors.New("globalconf: configuration belongs to another instance")
	// ErrNotCanonical: the configuration bytes are not the canonical encoding
	// of the document they carry.
	ErrNotCanonical = errors.New("globalconf: configuration is not canonically encoded")
	// ErrNotYetValid: issued_at lies further in the future than the policy's
	// maximum clock skew allows.
	ErrNotYetValid = errors.New("globalconf: configuration issued in the future")
	// ErrStale: the configuration is not newer than the one held. Not fatal:
	// the client keeps what it has.
	ErrStale = errors.New("globalconf: configuration is not newer than the one held")
	// ErrTooOld: the held configuration is older than the maximum age a node
	// may work with. Current still returns it; the caller decides.
	ErrTooOld = errors.New("globalconf: held configuration is older than the maximum age")
	// ErrNoConfig: the client holds no verified configuration yet.
	ErrNoConfig = errors.New("globalconf: no verified configuration held")
	// ErrNoServer: no registry server answered with a usable configuration.
	ErrNoServer = errors.New("globalconf: no registry server answered with a usable configuration")
	// ErrInsecureURL: a plain http:// registry URL without AllowInsecureHTTP.
	ErrInsecureURL = errors.New("globalconf: plain http registry URL refused (set AllowInsecureHTTP for tests and development only)")
	// ErrBadAnchor: the anchor is missing a part or has an unusable one.
	ErrBadAnchor = errors.New("globalconf: invalid anchor")
	// ErrBadOption: a client option is out of range.
	ErrBadOption = errors.New("globalconf: invalid client option")
	// ErrBadWait: a long-poll's wait parameter is malformed or beyond the
	// server's maximum.
	ErrBadWait = errors.New("globalconf: invalid wait parameter")
	// ErrUnavailable: the server has no signed configuration to serve (yet).
	ErrUnavailable = errors.New("globalconf: no signed configuration available")
)

// Codes is the package's error table (internal/errcode).
var Codes = errcode.New(
	errcode.Entry{Err: ErrNoServer, Code: "no_server"}, // first: it wraps the per-server errors
	errcode.Entry{Err: ErrMalformed, Code: "malformed"},
	errcode.Entry{Err: ErrTooLarge, Code: "too_large"},
	errcode.Entry{Err: ErrSignature, Code: "bad_signature"},
	errcode.Entry{Err: ErrUnknownSigner, Code: "unknown_signer"},
	errcode.Entry{Err: ErrChain, Code: "bad_chain"},
	errcode.Entry{Err: ErrInstance, Code: "wrong_instance"},
	errcode.Entry{Err: ErrNotCanonical, Code: "not_canonical"},
	errcode.Entry{Err: ErrNotYetValid, Code: "not_yet_valid"},
	errcode.Entry{Err: ErrStale, Code: "stale"},
	errcode.Entry{Err: ErrTooOld, Code: "too_old"},
	errcode.Entry{Err: ErrNoConfig, Code: "no_config"},
	errcode.Entry{Err: ErrInsecureURL, Code: "insecure_url"},
	errcode.Entry{Err: ErrBadAnchor, Code: "bad_anchor"},
	errcode.Entry{Err: ErrBadOption, Code: "bad_option"},
	errcode.Entry{Err: ErrBadWait, Code: "bad_wait", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrUnavailable, Code: "unavailable", Status: http.StatusServiceUnavailable},
)
