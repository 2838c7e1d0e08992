// Package envelope is the wire format of DXL synchronous calls
// (/dxl/call/1.0.0, DESIGN.md §4): signed request and response envelopes,
// their verification (signature, signer certificate, revocation, clock
// skew, replay, response-to-request binding) and the frame codec that
// carries envelopes and streamed bodies over one libp2p stream.
//
// Every error wraps one sentinel (errors.go); Codes gives its stable
// machine code for the exchange-layer error body and X-DXL-Error header.
// Clocks are injectable (Policy.Now, Signer.Now).
//
// # Notation
//
// All integers are unsigned big-endian unless marked signed. u8, u16, u32,
// u64 are 1, 2, 4 and 8 bytes; i64 is a two's-complement signed 8-byte
// integer. [n] is exactly n raw bytes. str is u16 length followed by that
// many bytes (ASCII; the per-field rules below restrict them). There is no
// padding, no optional field, no alternative encoding: a given envelope
// has exactly one byte form, and parsers must refuse trailing bytes.
//
// # Envelope
//
//	envelope = u32 len(signed) || signed || u16 len(cert) || cert || u16 len(sig) || sig
//
// The whole envelope is at most 64 KiB (MaxEnvelope); cert, the DER
// X.509 member-sign certificate of the signer, is 1..16 KiB; sig is
// 1..128 bytes. The certificate is always carried in full; the signed part
// commits to its SHA-256, so it cannot be swapped. (Verifiers cache
// accepted certificates by that hash, so carrying it costs bytes, not
// CPU.) The three length prefixes are not signed; everything they delimit
// is.
//
// # Request (signed part)
//
//	"DXL-CALL-REQUEST-v1\x00"  [20]  domain-separation prefix
//	version                    u8    2 (1: as below without headers; still read)
//	certHash                   [32]  SHA-256 of cert
//	requestID                  [16]  UUID version 4, raw bytes
//	client                     str   INSTANCE/CLASS/MEMBER/SUBSYSTEM
//	service                    str   INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]
//	target                     str   libp2p peer ID of the provider node addressed, 1..128 bytes of 0x21..0x7e
//	userID                     str   0..256 bytes of 0x20..0x7e
//	method                     str   HTTP method token, 1..32 bytes
//	path                       str   "/"..., 1..8192 bytes of 0x21..0x7e (query included)
//	time                       i64   signing time, Unix nanoseconds
//	bodySHA256                 [32]  SHA-256 of the request body (of the empty string if none)
//	contentType                str   0..256 bytes of 0x20..0x7e
//	bodyLength                 u64   body length in bytes
//	headers                    u16 count || (str name || str value)*   version 2
//
// headers are HTTP header fields in their order, repeats kept: at most
// MaxHeaders, names and values together at most MaxHeaderBytes; a name is
// an RFC 9110 token of at most 256 bytes, a value has no byte below 0x20
// but tab, and no 0x7f.
//
// Identifier parts are 1..64 characters of A-Z a-z 0-9 . - _ (ident).
//
// # Response (signed part)
//
//	"DXL-CALL-RESPONSE-v1\x00" [21]  domain-separation prefix
//	version                    u8    2 (1: without headers)
//	certHash                   [32]  SHA-256 of cert
//	requestID                  [16]  the request's ID
//	requestHash                [32]  SHA-256 of the complete request envelope (all of it, framing lengths, cert and sig included)
//	status                     u16   HTTP status, 100..999
//	time                       i64   signing time, Unix nanoseconds
//	bodySHA256                 [32]  SHA-256 of the response body
//	contentType                str   0..256 bytes of 0x20..0x7e
//	bodyLength                 u64   body length in bytes
//	headers                    as in the request (version 2)
//
// # Signature
//
// sig is computed over the signed part exactly as it appears on the wire,
// prefix included, with the key the certificate certifies:
//
//   - Ed25519 (RFC 8032, pure): the 64-byte signature of signed.
//   - ECDSA P-256: ASN.1 DER ECDSA-Sig-Value over SHA-256(signed).
//
// Other keys are refused (ErrUnsupportedKey).
//
// # Verification
//
// A verifier, knowing the network's CA certificates and revoked serials
// from the signed global configuration, checks in this order: envelope
// size and framing; SHA-256(cert) = certHash; the certificate chains to the
// root, is valid now, has digitalSignature + contentCommitment key usage
// (the member-sign profile; a node-auth certificate has not) and exactly
// one urn:dxl:member:INSTANCE/CLASS/CODE URI; the signature; no serial of
// the chain below the root is revoked; prefix, version and field rules;
// the signer member is the client's member (request) or the service's
// member (response); |now - time| <= MaxSkew; then for a request that the
// ID was not seen within the window (ReplayCache), for a response that
// requestID and requestHash match the request sent. Because prefix and
// version are checked only after the signature, any changed byte of the
// signed part, cert or sig is ErrSignature; a changed framing length is
// ErrMalformed.
//
// # Frames
//
//	frame = u8 type || u32 len(payload) || payload
//
//	type 1  request envelope    payload 0..64 KiB
//	type 2  response envelope   payload 0..64 KiB
//	type 3  body chunk          payload 1..1 MiB
//	type 4  end of body         payload empty
//	type 5  error               payload 0..4 KiB, a refusal: code, message, retry-after (node/transport)
//
// A reader refuses an unknown type (ErrMalformed) and a length over the
// type's limit (ErrTooLarge) before reading or allocating the payload. A
// call on /dxl/call/1.0.0 is: request frame, body chunks, end frame from
// the client; response frame, body chunks, end frame (or an error frame
// at any point) from the provider. Body readers also enforce a total size
// cap, and the body is checked against bodyLength and bodySHA256 only at
// its end (HashingReader): until io.EOF, everything read is unverified.
package envelope
