package globalconf

import "errors"

// Sentinel errors. Test them with errors.Is; every error this package
// returns wraps exactly one of them (Fetch may wrap several, one per server
// it tried). Each has a stable machine code (ErrorCode) used in HTTP error
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
	// ErrUnavailable: the server has no signed configuration to serve (yet).
	ErrUnavailable = errors.New("globalconf: no signed configuration available")
)

var errorCodes = []struct {
	err  error
	code string
}{
	{ErrMalformed, "malformed"},
	{ErrTooLarge, "too_large"},
	{ErrSignature, "bad_signature"},
	{ErrUnknownSigner, "unknown_signer"},
	{ErrChain, "bad_chain"},
	{ErrInstance, "wrong_instance"},
	{ErrNotCanonical, "not_canonical"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrStale, "stale"},
	{ErrTooOld, "too_old"},
	{ErrNoConfig, "no_config"},
	{ErrNoServer, "no_server"},
	{ErrInsecureURL, "insecure_url"},
	{ErrBadAnchor, "bad_anchor"},
	{ErrBadOption, "bad_option"},
	{ErrUnavailable, "unavailable"},
}

// ErrorCode returns the machine code of the first sentinel err wraps, in the
// order of the sentinel block, or "internal". An ErrNoServer that wraps the
// per-server errors reports "no_server".
func ErrorCode(err error) string {
	if errors.Is(err, ErrNoServer) {
		return "no_server"
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return "internal"
}
