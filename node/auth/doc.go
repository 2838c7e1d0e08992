// Package auth authenticates information systems to their own DXL node with
// OAuth 2.0 client credentials (RFC 6749 §4.4) and short-lived JWT access
// tokens (R-X3, DESIGN.md §4 step 1).
//
// An information system, named by its client subsystem ID
// INSTANCE/CLASS/MEMBER/SUBSYSTEM, is given a consumer key (a public
// identifier, "dxlck_" + 16 random bytes in lower-case base32) and a consumer
// secret ("dxlcs_" + 32 random bytes in lower-case base32). The secret is
// shown once, when it is created or rotated; the node stores only its
// SHA-256 digest and compares digests in constant time. A slow password KDF
// (scrypt, argon2) is deliberately not used: the secret carries 256 bits of
// entropy chosen by the node, so a brute-force search of the digest is
// already infeasible and a KDF would only add CPU cost to every token
// request.
//
// The token endpoint ([Authority.TokenHandler]) exchanges a key and secret,
// sent with HTTP Basic authentication or as client_id/client_secret form
// fields, for an ES256-signed JWT carrying iss and aud (the node ID), sub
// (the client subsystem), iat, nbf, exp (one hour by default), jti, and the
// private claims dxl_kid (consumer key) and dxl_gen (credential generation).
//
// [Authority.Verify] pins the algorithm to ES256 (alg "none", HMAC and every
// other algorithm are refused before any key is used), checks the signature,
// issuer, audience, and the time claims with a small leeway, and then looks
// the consumer key up in the [Store]: a revoked credential (deleted record)
// or a rotated one (generation changed) invalidates every token issued
// under it at once. [Authority.Require] is the HTTP middleware that enforces
// `Authorization: Bearer` and exposes the [Principal] through
// [PrincipalFrom].
//
// The token endpoint throttles guessing: after Config.ThrottleAfter failed
// requests in a row for one consumer key, or from one remote address, it
// answers 429 auth_throttled with Retry-After, without looking at the
// secret, for Config.ThrottleBackoff, doubling with each further failure up
// to Config.ThrottleMax; a success resets the count. A bounded table
// (Config.ThrottleEntries, least recently seen evicted) keeps the counts.
// [Authority.Collectors] are its metrics.
//
// # Signed access keys
//
// [AccessKeys] is the third way an information system authenticates to
// its node (Nghe An regulation 004 Art. 8.4 and Art. 15): an access key
// ("dxlak_…") names it, and each request is signed (canonical.go,
// [StringToSign]) with HMAC-SHA256 under its secret key ("dxlas_…"),
// HMAC-SHA1 where an operator enabled it for that key, or an RSA key whose
// public half the operator registered (RSASSA-PKCS1-v1_5 or PSS, SHA-256).
// The Authorization header is
//
//	DXL-HMAC-SHA256 Credential=KEY, SignedHeaders=host;x-dxl-content-sha256;x-dxl-date, Signature=HEX
//
// with X-DXL-Date (20060102T150405Z, within the node's clock skew) and
// X-DXL-Content-SHA256 (the body's SHA-256, checked when the body ends).
// Each signature is accepted once. The verifier needs an HMAC secret
// itself, so it is stored sealed with AES-256-GCM under the node's seal
// key, not hashed. A session key ([AccessKeys.SessionHandler],
// POST /access-key/session, signed with the access key) is issued for 15
// minutes, so that the long-term secret or RSA key is not used on every
// request; its secret is derived from a key held only in memory.
// [RequestSigner] is the client side.
//
// Errors wrap one of the package's sentinel errors; [Codes] maps them to
// stable machine codes. Secrets and tokens are never logged.
package auth
