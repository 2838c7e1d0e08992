package tsa

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

// Tokens are read with the libraries that write them: the TimeStampToken
// (CMS SignedData) with github.com/digitorus/pkcs7, its TSTInfo with
// github.com/digitorus/timestamp.Parse. This file adds what they leave
// out: the PKIStatusInfo of a rejection (timestamp.ParseResponse only
// returns a string), the tsa field, the ESS signing-certificate binding
// and the trust decisions.

// Info describes a time-stamp token.
type Info struct {
	Time          time.Time // genTime, UTC
	Accuracy      time.Duration
	Serial        *big.Int
	Policy        asn1.ObjectIdentifier
	Hash          crypto.Hash // imprint algorithm; 0 if not SHA-256/384/512
	HashedMessage []byte
	Nonce         *big.Int // nil if absent
	Ordering      bool
	TSAName       string // the tsa field, when it is a directoryName

	// Signer is the certificate that signed the token: found among the
	// token's certificates or VerifyOptions.TSACert. ParseToken leaves it
	// nil when the token carries no certificates.
	Signer *x509.Certificate
	// Certificates are those carried in the token (certReq was set).
	Certificates []*x509.Certificate
	// Chain is the verified path from Signer to a root (Verify only).
	Chain []*x509.Certificate
	// Token is the DER TimeStampToken, without the TimeStampResp wrapper.
	Token []byte
}

// VerifyOptions says what a token must prove.
type VerifyOptions struct {
	// Roots are the trust anchors for the TSA certificate. Required.
	Roots *x509.CertPool
	// Intermediates help build the chain, in addition to the token's own
	// certificates.
	Intermediates *x509.CertPool
	// Digest and Hash are the expected message imprint. Required.
	Digest []byte
	Hash   crypto.Hash
	// Nonce, if set, must equal the token's nonce.
	Nonce *big.Int
	// Policy, if set, must equal the token's policy.
	Policy asn1.ObjectIdentifier
	// TSACert is the signer certificate for tokens issued without
	// certificates (certReq false). It is still chained to Roots.
	TSACert *x509.Certificate
	// CurrentTime, if set, is the time at which the chain is checked;
	// by default the chain must be valid at the token's genTime.
	CurrentTime time.Time
}

// Verify checks a DER TimeStampResp (as written by openssl ts -reply or by
// Authority.Stamp) or a bare DER TimeStampToken, and returns what it
// certifies. It checks, each failure wrapping its own sentinel:
//
//   - the response status is granted (ErrRejected) and everything parses
//     (ErrMalformed): CMS with github.com/digitorus/pkcs7, TSTInfo with
//     github.com/digitorus/timestamp;
//   - the signer certificate is present and is the one named by the
//     SigningCertificate(V2) attribute and the tsa field (ErrSignerCert);
//   - the CMS signature and message-digest attribute (pkcs7's Verify, run
//     here whether or not the token carries certificates), a SHA-2 digest
//     algorithm and an id-ct-TSTInfo content-type attribute (ErrSignature);
//   - the signer's extended key usage is a critical id-kp-timeStamping
//     only (ErrEKU), and it chains to Roots with that usage at genTime
//     (ErrChain);
//   - the imprint equals Hash and Digest (ErrImprint), the nonce and
//     policy equal the expected ones when given (ErrNonce, ErrPolicy).
//
// Revocation of the TSA certificate is not checked.
func Verify(der []byte, opts VerifyOptions) (*Info, error) {
	if opts.Roots == nil {
		return nil, fmt.Errorf("%w: VerifyOptions.Roots is required", ErrConfig)
	}
	if hashOID(opts.Hash) == nil || len(opts.Digest) != opts.Hash.Size() {
		return nil, fmt.Errorf("%w: VerifyOptions needs a SHA-256, SHA-384 or SHA-512 Digest and Hash", ErrConfig)
	}
	t, err := decode(der)
	if err != nil {
		return nil, err
	}
	if t.signer == nil {
		if opts.TSACert == nil {
			return nil, fmt.Errorf("%w: token carries no certificate; pass VerifyOptions.TSACert", ErrSignerCert)
		}
		// Without certificates in the token pkcs7 has nothing to verify
		// against, and timestamp.Parse skipped the signature altogether:
		// give it the TSA certificate; checkSignature does the rest.
		t.p7.Certificates = []*x509.Certificate{opts.TSACert}
		if t.signer = t.p7.GetOnlySigner(); t.signer == nil {
			return nil, fmt.Errorf("%w: VerifyOptions.TSACert is not the token's signer", ErrSignerCert)
		}
	}
	if err := t.checkSignature(); err != nil {
		return nil, err
	}
	if err := t.checkBinding(); err != nil {
		return nil, err
	}
	if err := CheckTSACertificate(t.signer); err != nil {
		return nil, err
	}
	info := t.info()
	inter := x509.NewCertPool()
	if opts.Intermediates != nil {
		inter = opts.Intermediates.Clone()
	}
	for _, c := range info.Certificates {
		inter.AddCert(c)
	}
	at := info.Time
	if !opts.CurrentTime.IsZero() {
		at = opts.CurrentTime
	}
	chains, err := t.signer.Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChain, err)
	}
	info.Chain = chains[0]
	if info.Hash != opts.Hash {
		return nil, fmt.Errorf("%w: token imprint uses %s, expected %s", ErrImprint, hashName(t.ts.HashAlgorithm), hashName(opts.Hash))
	}
	if !bytes.Equal(info.HashedMessage, opts.Digest) {
		return nil, fmt.Errorf("%w: token certifies a different digest", ErrImprint)
	}
	if opts.Nonce != nil && (info.Nonce == nil || info.Nonce.Cmp(opts.Nonce) != 0) {
		return nil, fmt.Errorf("%w: expected %v, token has %v", ErrNonce, opts.Nonce, info.Nonce)
	}
	if len(opts.Policy) > 0 && !info.Policy.Equal(opts.Policy) {
		return nil, fmt.Errorf("%w: expected %s, token has %s", ErrPolicy, opts.Policy, info.Policy)
	}
	return info, nil
}

// ParseToken decodes a DER TimeStampResp or TimeStampToken without
// judging trust, e.g. to learn which hash to compute before Verify. A
// rejection response yields a *RejectionError. When the token carries
// certificates, digitorus/timestamp.Parse checks the CMS signature against
// them, so a tampered token fails (ErrSignature); without certificates
// nothing is verified.
func ParseToken(der []byte) (*Info, error) {
	t, err := decode(der)
	if err != nil {
		return nil, err
	}
	return t.info(), nil
}

// token is a TimeStampToken taken apart by digitorus, its signature not
// yet checked by us.
type token struct {
	der     []byte
	p7      *pkcs7.PKCS7
	ts      *timestamp.Timestamp
	certs   []*x509.Certificate // carried in the token
	signer  *x509.Certificate   // among certs; nil if the token has none
	tsaName []byte              // DER Name of the tsa field, if a directoryName
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// maxTokenSize caps what decode reads. Real tokens are a few KiB; the cap
// bounds the memory pkcs7's recursive BER pass spends on hostile nesting.
const maxTokenSize = 64 << 10

// decode takes a TimeStampResp or a bare TimeStampToken apart.
func decode(der []byte) (*token, error) {
	if len(der) > maxTokenSize {
		return nil, malformed("larger than %d bytes", maxTokenSize)
	}
	tok, err := splitResponse(der)
	if err != nil {
		return nil, err
	}
	p7, err := parsePKCS7(tok)
	if err != nil {
		return nil, malformed("CMS: %v", err)
	}
	if len(p7.Signers) != 1 {
		return nil, malformed("token must have exactly one SignerInfo, has %d", len(p7.Signers))
	}
	if err := checkAttributes(p7); err != nil {
		return nil, err
	}
	t := &token{der: tok, p7: p7, certs: p7.Certificates, signer: p7.GetOnlySigner()}
	if len(t.certs) > 0 && t.signer == nil {
		// RFC 3161 section 2.4.1: with certReq the signer's certificate
		// MUST be present.
		return nil, fmt.Errorf("%w: token carries certificates, but not its signer's", ErrSignerCert)
	}
	if t.ts, err = parseTimestamp(tok); err != nil {
		// With certificates, timestamp.Parse verified the signature too;
		// tell a bad signature from a bad TSTInfo.
		if len(t.certs) > 0 {
			if verr := p7.Verify(); verr != nil {
				return nil, fmt.Errorf("%w: %v", ErrSignature, verr)
			}
		}
		return nil, malformed("TSTInfo: %v", err)
	}
	if t.tsaName, err = tstInfoExtras(p7.Content); err != nil {
		return nil, err
	}
	if h := t.ts.HashAlgorithm; hashOID(h) != nil && len(t.ts.HashedMessage) != h.Size() {
		return nil, malformed("imprint is %d bytes, %s needs %d", len(t.ts.HashedMessage), hashName(t.ts.HashAlgorithm), t.ts.HashAlgorithm.Size())
	}
	if t.ts.SerialNumber == nil || t.ts.Accuracy < 0 {
		return nil, malformed("bad TSTInfo serialNumber or accuracy")
	}
	for _, e := range t.ts.Extensions {
		if e.Critical {
			return nil, malformed("unsupported critical TSTInfo extension %s", e.Id)
		}
	}
	return t, nil
}

// ber2derMu serialises pkcs7.Parse, also called by timestamp.Parse: at
// the pinned version its BER-to-DER pass updates a package-level debug
// counter (ber.go, encodeIndent) without synchronisation, a data race
// under concurrent Verify calls.
var ber2derMu sync.Mutex

// parsePKCS7 is pkcs7.Parse, with a panic turned into an error: at the
// pinned version its BER-to-DER pass (ber.go, readObject) indexes past the
// end of the input on some truncated nested elements. The inputs are kept
// in testdata/fuzz/FuzzParseToken. parseTimestamp, called later on the
// same bytes, repeats the same pkcs7.Parse, so it cannot panic there.
func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	ber2derMu.Lock()
	defer ber2derMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("pkcs7 parser panicked: %v", r)
		}
	}()
	return pkcs7.Parse(der)
}

// parseTimestamp is timestamp.Parse under ber2derMu.
func parseTimestamp(der []byte) (*timestamp.Timestamp, error) {
	ber2derMu.Lock()
	defer ber2derMu.Unlock()
	return timestamp.Parse(der)
}

func (t *token) info() *Info {
	h := t.ts.HashAlgorithm
	if hashOID(h) == nil {
		h = 0 // SHA-1: Verify refuses it (ErrImprint)
	}
	return &Info{
		Time:          t.ts.Time.UTC(),
		Accuracy:      t.ts.Accuracy,
		Serial:        t.ts.SerialNumber,
		Policy:        t.ts.Policy,
		Hash:          h,
		HashedMessage: t.ts.HashedMessage,
		Nonce:         t.ts.Nonce,
		Ordering:      t.ts.Ordering,
		TSAName:       nameString(t.tsaName),
		Signer:        t.signer,
		Certificates:  t.certs,
		Token:         t.der,
	}
}

// timeStampResp is RFC 3161's TimeStampResp. digitorus/timestamp has the
// same type unexported, and its ParseResponse folds a rejection into an
// error string; RejectionError needs the fields.
type timeStampResp struct {
	Status struct {
		Status       int
		StatusString []string       `asn1:"optional,utf8"`
		FailInfo     asn1.BitString `asn1:"optional"`
	}
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// splitResponse returns the TimeStampToken from a DER TimeStampResp, or
// der itself when it is already a bare token (a ContentInfo). A status
// other than granted or grantedWithMods yields a *RejectionError.
func splitResponse(der []byte) ([]byte, error) {
	var outer, first asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) > 0 ||
		outer.Class != asn1.ClassUniversal || outer.Tag != asn1.TagSequence {
		return nil, malformed("not a DER TimeStampResp or TimeStampToken")
	}
	if _, err := asn1.Unmarshal(outer.Bytes, &first); err != nil {
		return nil, malformed("not a DER TimeStampResp or TimeStampToken")
	}
	if first.Class == asn1.ClassUniversal && first.Tag == asn1.TagOID {
		return der, nil // ContentInfo: a bare token
	}
	var resp timeStampResp
	if rest, err := asn1.Unmarshal(der, &resp); err != nil || len(rest) > 0 {
		return nil, malformed("bad TimeStampResp")
	}
	st := resp.Status.Status
	if st != int(timestamp.Granted) && st != int(timestamp.GrantedWithMods) {
		rej := &RejectionError{Status: st, Failure: timestamp.UnknownFailureInfo, Text: resp.Status.StatusString}
		for _, fi := range []timestamp.FailureInfo{timestamp.BadAlgorithm, timestamp.BadRequest,
			timestamp.BadDataFormat, timestamp.TimeNotAvailable, timestamp.UnacceptedPolicy,
			timestamp.UnacceptedExtension, timestamp.AddInfoNotAvailable, timestamp.SystemFailure} {
			if resp.Status.FailInfo.At(int(fi)) == 1 {
				rej.Failure = fi
				break
			}
		}
		return nil, rej
	}
	if len(resp.TimeStampToken.FullBytes) == 0 {
		return nil, malformed("granted response without a token")
	}
	return resp.TimeStampToken.FullBytes, nil
}

// tstInfoExtras reads what timestamp.Parse does not return from the
// TSTInfo: it checks the version (v1) and returns the tsa field's Name
// when it is a directoryName ([0] EXPLICIT GeneralName, [4] EXPLICIT Name).
func tstInfoExtras(content []byte) (tsaName []byte, err error) {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(content, &seq); err != nil {
		return nil, malformed("TSTInfo: %v", err)
	}
	var version int
	rest, err := asn1.Unmarshal(seq.Bytes, &version)
	if err != nil || version != 1 {
		return nil, malformed("TSTInfo version must be 1")
	}
	for len(rest) > 0 {
		var field asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &field); err != nil {
			return nil, malformed("TSTInfo: %v", err)
		}
		if field.Class != asn1.ClassContextSpecific || field.Tag != 0 {
			continue
		}
		var gn asn1.RawValue
		if _, err := asn1.Unmarshal(field.Bytes, &gn); err != nil {
			return nil, malformed("TSTInfo tsa: %v", err)
		}
		if gn.Class == asn1.ClassContextSpecific && gn.Tag == 4 {
			var name asn1.RawValue
			if _, err := asn1.Unmarshal(gn.Bytes, &name); err != nil {
				return nil, malformed("TSTInfo tsa: %v", err)
			}
			return name.FullBytes, nil
		}
	}
	return nil, nil
}

// checkAttributes enforces RFC 5652 section 5.3 on the signed attributes
// that pkcs7 and this package read, where pkcs7 would silently take the
// first: each at most once, with exactly one value.
func checkAttributes(p7 *pkcs7.PKCS7) error {
	seen := make(map[string]bool)
	for _, a := range p7.Signers[0].AuthenticatedAttributes {
		switch {
		case a.Type.Equal(pkcs7.OIDAttributeContentType), a.Type.Equal(pkcs7.OIDAttributeMessageDigest),
			a.Type.Equal(pkcs7.OIDAttributeSigningTime), a.Type.Equal(oidSigningCert), a.Type.Equal(oidSigningCert2):
		default:
			continue
		}
		var v asn1.RawValue
		if rest, err := asn1.Unmarshal(a.Value.Bytes, &v); err != nil || len(rest) > 0 || seen[a.Type.String()] {
			return malformed("signed attribute %s must occur once, with one value", a.Type)
		}
		seen[a.Type.String()] = true
	}
	return nil
}

// checkSignature verifies the SignerInfo with pkcs7 (message-digest
// attribute, signature over the signed attributes, signingTime within the
// certificate's validity if present), after checking what pkcs7 does
// not: a SHA-2 digest algorithm and an id-ct-TSTInfo content-type
// attribute.
func (t *token) checkSignature() error {
	si := t.p7.Signers[0]
	if h := supportedHashOID(si.DigestAlgorithm.Algorithm); h == 0 {
		return fmt.Errorf("%w: unsupported digest algorithm %s", ErrSignature, si.DigestAlgorithm.Algorithm)
	}
	var ct asn1.ObjectIdentifier
	if err := t.p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &ct); err != nil || !ct.Equal(oidTSTInfo) {
		return fmt.Errorf("%w: content-type attribute missing or not id-ct-TSTInfo", ErrSignature)
	}
	if err := t.p7.Verify(); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}

// ESS signing-certificate attributes (RFC 2634, RFC 5035); only the first
// certificate identifier matters, the signer's.
type essCertID struct {
	CertHash     []byte
	IssuerSerial asn1.RawValue `asn1:"optional"`
}

type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"` // DEFAULT sha256
	CertHash      []byte
	IssuerSerial  asn1.RawValue `asn1:"optional"`
}

type essSigningCert struct {
	Certs    []essCertID
	Policies asn1.RawValue `asn1:"optional"`
}

type essSigningCertV2 struct {
	Certs    []essCertIDv2
	Policies asn1.RawValue `asn1:"optional"`
}

// checkBinding checks that the signer is the certificate the token's ESS
// SigningCertificateV2 (RFC 5035) or SigningCertificate (RFC 2634)
// attribute names, and matches the tsa field when that is a
// directoryName (RFC 3161 section 2.4.2).
func (t *token) checkBinding() error {
	var certHash, sum []byte
	var v2 essSigningCertV2
	var v1 essSigningCert
	switch {
	case t.p7.UnmarshalSignedAttribute(oidSigningCert2, &v2) == nil:
		if len(v2.Certs) == 0 {
			return fmt.Errorf("%w: empty SigningCertificateV2 attribute", ErrSignerCert)
		}
		id := v2.Certs[0]
		h := crypto.SHA256
		if len(id.HashAlgorithm.Algorithm) > 0 {
			if h = supportedHashOID(id.HashAlgorithm.Algorithm); h == 0 {
				return fmt.Errorf("%w: unsupported ESSCertIDv2 hash %s", ErrSignerCert, id.HashAlgorithm.Algorithm)
			}
		}
		d := h.New()
		d.Write(t.signer.Raw)
		certHash, sum = id.CertHash, d.Sum(nil)
	case t.p7.UnmarshalSignedAttribute(oidSigningCert, &v1) == nil:
		if len(v1.Certs) == 0 {
			return fmt.Errorf("%w: empty SigningCertificate attribute", ErrSignerCert)
		}
		s := sha1.Sum(t.signer.Raw) // identification only, as RFC 2634 defines
		certHash, sum = v1.Certs[0].CertHash, s[:]
	default:
		return fmt.Errorf("%w: no readable SigningCertificate(V2) attribute", ErrSignerCert)
	}
	if !bytes.Equal(certHash, sum) {
		return fmt.Errorf("%w: the signing-certificate attribute names another certificate", ErrSignerCert)
	}
	if t.tsaName != nil && !bytes.Equal(t.tsaName, t.signer.RawSubject) {
		return fmt.Errorf("%w: tsa field %q is not the signer %q", ErrSignerCert, nameString(t.tsaName), t.signer.Subject)
	}
	return nil
}

// nameString renders a DER Name for people.
func nameString(der []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) > 0 {
		return ""
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// supportedHashOID maps a SHA-2 digest OID to its hash, anything else to 0.
func supportedHashOID(oid asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA256):
		return crypto.SHA256
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA384):
		return crypto.SHA384
	case oid.Equal(pkcs7.OIDDigestAlgorithmSHA512):
		return crypto.SHA512
	}
	return 0
}
