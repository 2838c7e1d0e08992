package tsa

import (
	"crypto"
	"encoding/asn1"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ParsedRequest is an RFC 3161 TimeStampReq taken apart by ParseRequest.
//
//	TimeStampReq ::= SEQUENCE {
//	   version          INTEGER { v1(1) },
//	   messageImprint   MessageImprint,
//	   reqPolicy        TSAPolicyId               OPTIONAL,
//	   nonce            INTEGER                   OPTIONAL,
//	   certReq          BOOLEAN                   DEFAULT FALSE,
//	   extensions       [0] IMPLICIT Extensions   OPTIONAL }
type ParsedRequest struct {
	Hash          crypto.Hash // SHA-256, SHA-384 or SHA-512
	HashedMessage []byte
	Policy        asn1.ObjectIdentifier // nil when the request names no policy
	Nonce         *big.Int              // nil when absent
	CertReq       bool

	imprint []byte // the MessageImprint element, echoed verbatim in TSTInfo
	nonce   []byte // the nonce INTEGER element, echoed verbatim
}

var tagExtensions = casn1.Tag(0).ContextSpecific().Constructed()

// ParseRequest parses a DER TimeStampReq strictly. On failure it returns a
// *RequestError whose Failure is the PKIFailureInfo to answer with:
//
//   - badDataFormat: not DER, truncated, trailing bytes, version not 1,
//     fields out of order, imprint length not matching its algorithm, or
//     larger than MaxRequestSize;
//   - badAlg: imprint algorithm other than SHA-256/384/512 (SHA-1, MD5 and
//     unknown OIDs included) or with parameters other than absent/NULL;
//   - badRequest: a nonce longer than 64 octets;
//   - unacceptedExtension: any request extension.
//
// Whether the requested policy is acceptable is decided by the Authority
// (unacceptedPolicy), except that a policy OID encoding/asn1 cannot
// represent (an arc beyond 31 bits, as in 2.25.<UUID>) is refused here
// with unacceptedPolicy, since no TSA policy can be one (see ParsePolicy).
// An explicit certReq FALSE, which strict DER forbids but some clients
// send, is accepted.
func ParseRequest(der []byte) (*ParsedRequest, error) {
	seq, err := readRequestHeader(der)
	if err != nil {
		return nil, err
	}
	f := requestFields{req: &ParsedRequest{}}
	if err := f.readImprint(&seq); err != nil {
		return nil, err
	}
	if err := f.readPolicy(&seq); err != nil {
		return nil, err
	}
	if err := f.readNonce(&seq); err != nil {
		return nil, err
	}
	if err := f.readCertReqAndExtensions(&seq); err != nil {
		return nil, err
	}
	if !seq.Empty() {
		return nil, reject(ErrBadDataFormat, "unexpected field in request")
	}
	// The structure is sound; now the semantic checks, in field order.
	if err := f.checkSemantics(); err != nil {
		return nil, err
	}
	return f.req, nil
}

// requestFields is what the structural pass of ParseRequest reads and its
// semantic pass (checkSemantics) then judges.
type requestFields struct {
	req            *ParsedRequest
	algOID         []byte // imprint hash algorithm, OID content octets
	nullParams     bool   // algorithm parameters absent or NULL
	policyTooLarge bool   // reqPolicy has an arc beyond 31 bits
	nonceContent   []byte // nonce INTEGER content octets
	hasExt         bool   // request extensions present
}

// readRequestHeader checks the size and the outer SEQUENCE (nothing after
// it) and reads version 1, returning the rest of the SEQUENCE.
func readRequestHeader(der []byte) (cryptobyte.String, error) {
	if len(der) > MaxRequestSize {
		return nil, reject(ErrBadDataFormat, "request larger than %d bytes", MaxRequestSize)
	}
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, casn1.SEQUENCE) {
		return nil, reject(ErrBadDataFormat, "not a DER TimeStampReq")
	}
	if !in.Empty() {
		return nil, reject(ErrBadDataFormat, "trailing data after request")
	}
	var version int64
	if !seq.ReadASN1Integer(&version) {
		return nil, reject(ErrBadDataFormat, "bad version field")
	}
	if version != 1 {
		return nil, reject(ErrBadDataFormat, "unsupported request version %d", version)
	}
	return seq, nil
}

// readImprint reads the messageImprint: its algorithm identifier (OID
// encoding checked, acceptance left to check) and hashed message.
func (f *requestFields) readImprint(seq *cryptobyte.String) error {
	var imprint cryptobyte.String
	if !seq.ReadASN1Element(&imprint, casn1.SEQUENCE) {
		return reject(ErrBadDataFormat, "bad messageImprint")
	}
	f.req.imprint = imprint
	var mi cryptobyte.String
	imprint.ReadASN1(&mi, casn1.SEQUENCE)
	var ok bool
	f.algOID, f.nullParams, ok = readAlgID(&mi)
	if !ok || !mi.ReadASN1((*cryptobyte.String)(&f.req.HashedMessage), casn1.OCTET_STRING) || !mi.Empty() {
		return reject(ErrBadDataFormat, "bad messageImprint")
	}
	if _, ok := oidFromDER(f.algOID); !ok {
		return reject(ErrBadDataFormat, "bad hash algorithm OID encoding")
	}
	return nil
}

// readPolicy reads the optional reqPolicy, noting a valid OID that
// encoding/asn1 cannot represent.
func (f *requestFields) readPolicy(seq *cryptobyte.String) error {
	if !seq.PeekASN1Tag(casn1.OBJECT_IDENTIFIER) {
		return nil
	}
	var elem, policy cryptobyte.String
	if !seq.ReadASN1Element(&elem, casn1.OBJECT_IDENTIFIER) {
		return reject(ErrBadDataFormat, "bad reqPolicy")
	}
	content := elem
	content.ReadASN1(&policy, casn1.OBJECT_IDENTIFIER)
	if _, ok := oidFromDER(policy); !ok {
		return reject(ErrBadDataFormat, "bad reqPolicy encoding")
	}
	// A valid OID with an arc beyond 31 bits (2.25.<UUID>) cannot be a
	// policy of this TSA (see ParsePolicy).
	if !elem.ReadASN1ObjectIdentifier(&f.req.Policy) {
		f.req.Policy, f.policyTooLarge = nil, true
	}
	return nil
}

// readNonce reads the optional nonce, keeping its element to echo and its
// content octets for the length check.
func (f *requestFields) readNonce(seq *cryptobyte.String) error {
	if !seq.PeekASN1Tag(casn1.INTEGER) {
		return nil
	}
	var elem cryptobyte.String
	if !seq.ReadASN1Element(&elem, casn1.INTEGER) {
		return reject(ErrBadDataFormat, "bad nonce")
	}
	f.req.nonce = elem
	content := elem
	if !content.ReadASN1((*cryptobyte.String)(&f.nonceContent), casn1.INTEGER) {
		return reject(ErrBadDataFormat, "bad nonce")
	}
	f.req.Nonce = new(big.Int)
	if !elem.ReadASN1Integer(f.req.Nonce) {
		return reject(ErrBadDataFormat, "bad nonce encoding")
	}
	return nil
}

// readCertReqAndExtensions reads the optional certReq and the optional
// extensions, which must not be empty (checkSemantics refuses any).
func (f *requestFields) readCertReqAndExtensions(seq *cryptobyte.String) error {
	if seq.PeekASN1Tag(casn1.BOOLEAN) && !seq.ReadASN1Boolean(&f.req.CertReq) {
		return reject(ErrBadDataFormat, "bad certReq")
	}
	f.hasExt = seq.PeekASN1Tag(tagExtensions)
	if f.hasExt {
		var ext cryptobyte.String
		if !seq.ReadASN1(&ext, tagExtensions) || ext.Empty() {
			return reject(ErrBadDataFormat, "bad extensions")
		}
	}
	return nil
}

// checkSemantics makes the semantic checks on a structurally sound
// request, in field order: hash algorithm and parameters, imprint length,
// policy, nonce length, extensions.
func (f *requestFields) checkSemantics() error {
	req := f.req
	if req.Hash = supportedHash(f.algOID); req.Hash == 0 {
		return reject(ErrBadAlg, "hash algorithm %s not accepted (use SHA-256, SHA-384 or SHA-512)", oidString(f.algOID))
	}
	if !f.nullParams {
		return reject(ErrBadAlg, "hash algorithm parameters must be absent or NULL")
	}
	if len(req.HashedMessage) != req.Hash.Size() {
		return reject(ErrBadDataFormat, "imprint is %d bytes, %s needs %d", len(req.HashedMessage), hashName(req.Hash), req.Hash.Size())
	}
	if f.policyTooLarge {
		return reject(ErrUnacceptedPolicy, "policy OID has an arc beyond 31 bits; this TSA's policy has none")
	}
	if len(f.nonceContent) > maxNonceLen {
		return reject(ErrBadRequest, "nonce longer than %d octets", maxNonceLen)
	}
	if f.hasExt {
		return reject(ErrUnacceptedExtension, "request extensions are not supported")
	}
	return nil
}

// checkPolicy rejects a request naming a policy other than ours.
func (r *ParsedRequest) checkPolicy(ours asn1.ObjectIdentifier) error {
	if len(r.Policy) > 0 && !r.Policy.Equal(ours) {
		return reject(ErrUnacceptedPolicy, "policy %s not supported (this TSA uses %s)", r.Policy, ours)
	}
	return nil
}

func oidString(der []byte) string {
	if len(der) > 40 {
		return "(overlong OID)"
	}
	if o, ok := oidFromDER(der); ok {
		return o.String()
	}
	return "(invalid)"
}

// RequestOptions shape a request built by MarshalRequest.
type RequestOptions struct {
	Nonce   *big.Int              // nil: no nonce
	Policy  asn1.ObjectIdentifier // nil: no reqPolicy
	CertReq bool                  // ask the TSA to include its certificate chain
}

// MarshalRequest builds a DER TimeStampReq for digest, a hash made with h
// (SHA-256, SHA-384 or SHA-512).
func MarshalRequest(h crypto.Hash, digest []byte, o RequestOptions) ([]byte, error) {
	oid := hashOID(h)
	if oid == nil {
		return nil, reject(ErrBadAlg, "hash %v not supported", h)
	}
	if len(digest) != h.Size() {
		return nil, reject(ErrBadDataFormat, "digest is %d bytes, %s needs %d", len(digest), hashName(h), h.Size())
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addAlgID(b, oid)
			b.AddASN1OctetString(digest)
		})
		if len(o.Policy) > 0 {
			b.AddASN1ObjectIdentifier(o.Policy)
		}
		if o.Nonce != nil {
			b.AddASN1BigInt(o.Nonce)
		}
		if o.CertReq {
			b.AddASN1Boolean(true)
		}
	})
	return b.Bytes()
}
