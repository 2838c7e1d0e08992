package envelope

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/wire"
)

// Domain-separation prefixes: the first bytes of the signed part of each
// envelope kind, so a signature over one kind can never verify as another
// (or as any other message a member key signs).
const (
	RequestPrefix  = "DXL-CALL-REQUEST-v1\x00"
	ResponsePrefix = "DXL-CALL-RESPONSE-v1\x00"
)

// Version is the envelope version this package writes. Version 2 adds the
// HTTP headers; version 1 envelopes (no headers) are still read, so the
// message log's older records verify.
const (
	Version   = 2
	VersionV1 = 1
)

// Size limits. An envelope longer than MaxEnvelope is ErrTooLarge; a field
// longer than its limit is ErrMalformed.
const (
	MaxEnvelope    = 64 << 10
	MaxCert        = 16 << 10
	MaxSignature   = 128
	MaxUserID      = 256
	MaxTarget      = 128 // a libp2p peer ID in its text form
	MaxMethod      = 32
	MaxPath        = 8 << 10
	MaxContentType = 256
	// MaxHeaders and MaxHeaderBytes cap the headers an envelope carries
	// (count, and the sum of names and values).
	MaxHeaders     = 100
	MaxHeaderBytes = 32 << 10
	maxHeaderName  = 256
	maxIdent       = 6*(ident.MaxPart+1) - 1
)

// Request is the signed description of one synchronous call.
type Request struct {
	Version   uint8
	RequestID RequestID
	// Client is INSTANCE/CLASS/MEMBER/SUBSYSTEM; its member
	// (INSTANCE/CLASS/MEMBER) must be the signer.
	Client string
	// Service is INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]; its
	// member is the provider, who signs the response.
	Service string
	// Target is the libp2p peer ID of the provider node the request is
	// addressed to. A provider with several nodes keeps a replay cache per
	// node; binding the request to one node stops a captured request from
	// being replayed to another.
	Target string
	// UserID is the end user on whose behalf the client calls (may be
	// empty); printable, at most MaxUserID bytes.
	UserID string
	// Method is the HTTP method (an RFC 9110 token, at most MaxMethod bytes).
	Method string
	// Path is the service-relative path with query, starting with "/".
	Path string
	// Time is when the client node signed; carried as Unix nanoseconds.
	Time        time.Time
	BodySHA256  [32]byte
	ContentType string
	BodyLength  uint64
	// Headers are the information system's request headers that travel to
	// the provider's backend, in order (repeats kept); version 2 only.
	Headers []Header
}

// Header is one HTTP header field as it travels in an envelope: a token
// name and a value of visible ASCII, space, tab or obs-text (no CR, LF or
// NUL).
type Header struct{ Name, Value string }

// Response is the signed description of a provider's answer.
type Response struct {
	Version   uint8
	RequestID RequestID
	// RequestHash is SHA-256 of the complete signed request envelope as
	// received (SignedRequest.Hash).
	RequestHash [32]byte
	Status      uint16
	Time        time.Time
	BodySHA256  [32]byte
	ContentType string
	BodyLength  uint64
	// Headers are the backend's response headers that travel back to the
	// information system; version 2 only.
	Headers []Header
}

// SignedRequest is a request envelope with its wire bytes. Parse and
// Verify functions return it; so does Signer.SignRequest.
type SignedRequest struct {
	Request
	// Raw is the complete envelope, Hash its SHA-256 (what the response
	// binds to).
	Raw  []byte
	Hash [32]byte
	// Signed is the part of Raw the signature covers; CertDER the signer
	// certificate; Signature the signature.
	Signed, CertDER, Signature []byte
	// Signer is filled by VerifyRequest.
	Signer *SignerInfo
}

// SignedResponse is a response envelope with its wire bytes.
type SignedResponse struct {
	Response
	Raw                        []byte
	Hash                       [32]byte
	Signed, CertDER, Signature []byte
	Signer                     *SignerInfo
}

// memberOf returns the member part (INSTANCE/CLASS/MEMBER) of a client or
// service identifier.
func memberOf(id string) ident.Member {
	p := strings.SplitN(id, "/", 4)
	if len(p) < 3 {
		return ident.Member{}
	}
	return ident.Member{Instance: p[0], Class: p[1], Code: p[2]}
}

// ClientMember returns the member of r.Client.
func (r *Request) ClientMember() ident.Member { return memberOf(r.Client) }

// ProviderMember returns the member of r.Service.
func (r *Request) ProviderMember() ident.Member { return memberOf(r.Service) }

func checkIdent(what, s string, minParts, maxParts int) error {
	if len(s) > maxIdent {
		return fmt.Errorf("%w: %s too long", ErrMalformed, what)
	}
	parts := strings.Split(s, "/")
	if len(parts) < minParts || len(parts) > maxParts {
		return fmt.Errorf("%w: %s %q: want %d..%d parts", ErrMalformed, what, s, minParts, maxParts)
	}
	for _, p := range parts {
		if err := ident.CheckPart(p); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
		}
	}
	return nil
}

// printable: ASCII 0x21..0x7e (and space when space is true).
func checkPrintable(what, s string, maxLen int, space, allowEmpty bool) error {
	if len(s) > maxLen || (!allowEmpty && s == "") {
		return fmt.Errorf("%w: %s: 0..%d bytes", ErrMalformed, what, maxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || (c == ' ' && !space) {
			return fmt.Errorf("%w: %s has byte 0x%02x", ErrMalformed, what, c)
		}
	}
	return nil
}

func checkToken(what, s string, maxLen int) error {
	if err := checkPrintable(what, s, maxLen, false, false); err != nil {
		return err
	}
	if strings.ContainsAny(s, "\"(),/:;<=>?@[\\]{}") {
		return fmt.Errorf("%w: %s %q is not a token", ErrMalformed, what, s)
	}
	return nil
}

// CheckHeaders checks headers against the wire-format rules and caps.
func CheckHeaders(hs []Header) error {
	if len(hs) > MaxHeaders {
		return fmt.Errorf("%w: %d headers (at most %d)", ErrMalformed, len(hs), MaxHeaders)
	}
	total := 0
	for _, h := range hs {
		total += len(h.Name) + len(h.Value)
		if err := checkToken("header name", h.Name, maxHeaderName); err != nil {
			return err
		}
		for i := 0; i < len(h.Value); i++ {
			if c := h.Value[i]; c < 0x20 && c != '\t' || c == 0x7f {
				return fmt.Errorf("%w: header %s has byte 0x%02x", ErrMalformed, h.Name, c)
			}
		}
	}
	if total > MaxHeaderBytes {
		return fmt.Errorf("%w: headers of %d bytes (at most %d)", ErrMalformed, total, MaxHeaderBytes)
	}
	return nil
}

// checkVersion accepts the two versions; a version 1 envelope has no
// headers.
func checkVersion(v uint8, headers []Header) error {
	switch {
	case v != Version && v != VersionV1:
		return fmt.Errorf("%w: version %d", ErrMalformed, v)
	case v == VersionV1 && len(headers) > 0:
		return fmt.Errorf("%w: a version 1 envelope carries no headers", ErrMalformed)
	}
	return CheckHeaders(headers)
}

// Validate checks every field against the wire-format rules.
func (r *Request) Validate() error {
	if err := checkVersion(r.Version, r.Headers); err != nil {
		return err
	}
	if !r.RequestID.Valid() {
		return fmt.Errorf("%w: request ID is not a version 4 UUID", ErrMalformed)
	}
	if err := checkIdent("client", r.Client, 4, 4); err != nil {
		return err
	}
	if err := checkIdent("service", r.Service, 5, 6); err != nil {
		return err
	}
	if err := checkPrintable("target", r.Target, MaxTarget, false, false); err != nil {
		return err
	}
	if err := checkPrintable("user ID", r.UserID, MaxUserID, true, true); err != nil {
		return err
	}
	if err := checkToken("method", r.Method, MaxMethod); err != nil {
		return err
	}
	if err := checkPrintable("path", r.Path, MaxPath, false, false); err != nil {
		return err
	}
	if r.Path[0] != '/' {
		return fmt.Errorf("%w: path must start with /", ErrMalformed)
	}
	return checkPrintable("content type", r.ContentType, MaxContentType, true, true)
}

// Validate checks every field against the wire-format rules.
func (r *Response) Validate() error {
	if err := checkVersion(r.Version, r.Headers); err != nil {
		return err
	}
	if !r.RequestID.Valid() {
		return fmt.Errorf("%w: request ID is not a version 4 UUID", ErrMalformed)
	}
	if r.Status < 100 || r.Status > 999 {
		return fmt.Errorf("%w: status %d", ErrMalformed, r.Status)
	}
	return checkPrintable("content type", r.ContentType, MaxContentType, true, true)
}

// ---- encoding ----

func putStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func putTime(b []byte, t time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t.UnixNano()))
}

// appendSigned appends the signed part of r (doc.go, "Request") to b.
func (r *Request) appendSigned(b []byte, certHash *[32]byte) []byte {
	b = append(b, RequestPrefix...)
	b = append(b, r.Version)
	b = append(b, certHash[:]...)
	b = append(b, r.RequestID[:]...)
	b = putStr(b, r.Client)
	b = putStr(b, r.Service)
	b = putStr(b, r.Target)
	b = putStr(b, r.UserID)
	b = putStr(b, r.Method)
	b = putStr(b, r.Path)
	b = putTime(b, r.Time)
	b = append(b, r.BodySHA256[:]...)
	b = putStr(b, r.ContentType)
	b = binary.BigEndian.AppendUint64(b, r.BodyLength)
	return putHeaders(b, r.Version, r.Headers)
}

// putHeaders appends u16 count || (str name || str value)* (version 2).
func putHeaders(b []byte, v uint8, hs []Header) []byte {
	if v == VersionV1 {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(hs)))
	for _, h := range hs {
		b = putStr(putStr(b, h.Name), h.Value)
	}
	return b
}

// headers reads what putHeaders wrote.
func headers(d *wire.Decoder, v uint8) []Header {
	if v == VersionV1 {
		return nil
	}
	n := int(d.U16())
	if n > MaxHeaders {
		n = MaxHeaders + 1 // refused by Validate; never allocate on the sender's word
	}
	var hs []Header
	for i := 0; i < n && !d.Bad(); i++ {
		hs = append(hs, Header{Name: d.Str(), Value: d.Str()})
	}
	return hs
}

func (r *Response) appendSigned(b []byte, certHash *[32]byte) []byte {
	b = append(b, ResponsePrefix...)
	b = append(b, r.Version)
	b = append(b, certHash[:]...)
	b = append(b, r.RequestID[:]...)
	b = append(b, r.RequestHash[:]...)
	b = binary.BigEndian.AppendUint16(b, r.Status)
	b = putTime(b, r.Time)
	b = append(b, r.BodySHA256[:]...)
	b = putStr(b, r.ContentType)
	b = binary.BigEndian.AppendUint64(b, r.BodyLength)
	return putHeaders(b, r.Version, r.Headers)
}

// assemble frames signed part, certificate and signature (doc.go,
// "Envelope").
func assemble(signed, cert, sig []byte) []byte {
	b := make([]byte, 0, 4+len(signed)+2+len(cert)+2+len(sig))
	b = binary.BigEndian.AppendUint32(b, uint32(len(signed)))
	b = append(b, signed...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(cert)))
	b = append(b, cert...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(sig)))
	return append(b, sig...)
}

// ---- decoding ----

// split splits an envelope into its signed part, certificate and signature
// (sub-slices of raw).
func split(raw []byte) (signed, cert, sig []byte, err error) {
	if len(raw) > MaxEnvelope {
		return nil, nil, nil, fmt.Errorf("%w: envelope of %d bytes (max %d)", ErrTooLarge, len(raw), MaxEnvelope)
	}
	d := wire.NewDecoder(raw)
	n := d.U32()
	signed = d.Bytes(int(min(n, MaxEnvelope+1)))
	cert = d.Bytes(int(d.U16()))
	sig = d.Bytes(int(d.U16()))
	if !d.Done() {
		return nil, nil, nil, fmt.Errorf("%w: envelope framing", ErrMalformed)
	}
	if len(cert) == 0 || len(cert) > MaxCert || len(sig) == 0 || len(sig) > MaxSignature {
		return nil, nil, nil, fmt.Errorf("%w: certificate or signature length", ErrMalformed)
	}
	return signed, cert, sig, nil
}

// header reads the certificate hash at its fixed offset (after prefix and
// version), all a verifier needs before checking the signature. The prefix
// and version themselves are checked after the signature (decodeRequest,
// decodeResponse), so a tampered byte anywhere in the signed part is
// ErrSignature.
func header(signed []byte, prefix string) (certHash [32]byte, err error) {
	if len(signed) < len(prefix)+1+32 {
		return certHash, fmt.Errorf("%w: signed part too short", ErrMalformed)
	}
	copy(certHash[:], signed[len(prefix)+1:])
	return certHash, nil
}

func decodeRequest(signed []byte) (Request, error) {
	var r Request
	if string(signed[:len(RequestPrefix)]) != RequestPrefix {
		return r, fmt.Errorf("%w: not a request envelope", ErrMalformed)
	}
	d := wire.NewDecoder(signed[len(RequestPrefix):])
	r.Version = d.U8()
	d.Bytes(32) // certificate hash, read by header
	d.Fixed(r.RequestID[:])
	r.Client = d.Str()
	r.Service = d.Str()
	r.Target = d.Str()
	r.UserID = d.Str()
	r.Method = d.Str()
	r.Path = d.Str()
	r.Time = d.Time()
	d.Fixed(r.BodySHA256[:])
	r.ContentType = d.Str()
	r.BodyLength = d.U64()
	r.Headers = headers(d, r.Version)
	if !d.Done() {
		return Request{}, fmt.Errorf("%w: request fields", ErrMalformed)
	}
	if err := r.Validate(); err != nil {
		return Request{}, err
	}
	return r, nil
}

func decodeResponse(signed []byte) (Response, error) {
	var r Response
	if string(signed[:len(ResponsePrefix)]) != ResponsePrefix {
		return r, fmt.Errorf("%w: not a response envelope", ErrMalformed)
	}
	d := wire.NewDecoder(signed[len(ResponsePrefix):])
	r.Version = d.U8()
	d.Bytes(32)
	d.Fixed(r.RequestID[:])
	d.Fixed(r.RequestHash[:])
	r.Status = d.U16()
	r.Time = d.Time()
	d.Fixed(r.BodySHA256[:])
	r.ContentType = d.Str()
	r.BodyLength = d.U64()
	r.Headers = headers(d, r.Version)
	if !d.Done() {
		return Response{}, fmt.Errorf("%w: response fields", ErrMalformed)
	}
	if err := r.Validate(); err != nil {
		return Response{}, err
	}
	return r, nil
}

// ParseRequest decodes a request envelope and checks that its certificate
// hash matches the carried certificate, without verifying the signature,
// the certificate or the time. Use VerifyRequest for anything received.
func ParseRequest(raw []byte) (*SignedRequest, error) {
	signed, cert, sig, err := split(raw)
	if err != nil {
		return nil, err
	}
	ch, err := header(signed, RequestPrefix)
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(cert) != ch {
		return nil, fmt.Errorf("%w: certificate does not match its signed hash", ErrSignature)
	}
	r, err := decodeRequest(signed)
	if err != nil {
		return nil, err
	}
	return &SignedRequest{Request: r, Raw: raw, Hash: sha256.Sum256(raw), Signed: signed, CertDER: cert, Signature: sig}, nil
}

// ParseResponse is ParseRequest for a response envelope.
func ParseResponse(raw []byte) (*SignedResponse, error) {
	signed, cert, sig, err := split(raw)
	if err != nil {
		return nil, err
	}
	ch, err := header(signed, ResponsePrefix)
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(cert) != ch {
		return nil, fmt.Errorf("%w: certificate does not match its signed hash", ErrSignature)
	}
	r, err := decodeResponse(signed)
	if err != nil {
		return nil, err
	}
	return &SignedResponse{Response: r, Raw: raw, Hash: sha256.Sum256(raw), Signed: signed, CertDER: cert, Signature: sig}, nil
}
