// Package tsa is DXL's RFC 3161 Time-Stamping Authority: request intake,
// token signing, durable serial numbers, the HTTP transport, a client, an
// offline verifier and Merkle batching of log records.
//
// # Issuing
//
// An [Authority] turns a DER TimeStampReq into a DER TimeStampResp. It
// parses requests strictly ([ParseRequest]) and answers every bad request
// with a well-formed rejection carrying the matching PKIFailureInfo, so a
// standard client (openssl ts, BouncyCastle, digitorus/timestamp) always
// gets an RFC 3161 answer it can read. TSTInfo is encoded by this package
// rather than by digitorus/timestamp because that library always picks a
// random serial number; the CMS SignedData around it is produced with
// github.com/digitorus/pkcs7, as digitorus/timestamp does. The policy OID
// ([DefaultPolicy] is an example-arc placeholder) must be one that
// encoding/asn1 can represent, so that digitorus/timestamp, and any
// verifier built on it, reads the tokens.
//
// Serial numbers come from [Serials], which reserves blocks in a bbolt file
// so that they grow strictly across restarts without an fsync per token.
//
// [Authority.Handler] serves the RFC 3161 HTTP transport (POST of
// application/timestamp-query). A TSA directory on disk (key sealed with
// internal/keystore, certificate chain, serial database, settings) is
// created by [Init] and loaded by [Open].
//
// # Verifying
//
// [Verify] checks a token or a whole response offline. It reads it with
// digitorus/pkcs7 (CMS) and digitorus/timestamp.Parse (TSTInfo) and checks
// the CMS signature (also when the token carries no certificates), the ESS
// signing-certificate binding, the signer's critical timeStamping-only
// extended key usage, the chain to caller-supplied roots at genTime, and
// the message imprint, nonce and policy. [Request] and [Client] fetch
// tokens over HTTP.
//
// # Batching
//
// DXL timestamps its message log in batches: [Batch] builds an RFC 6962
// Merkle tree over record hashes, has one token issued for the root and
// hands every record an [Evidence] bundle (inclusion [Proof], root, token)
// that [VerifyEvidence] checks offline.
package tsa
