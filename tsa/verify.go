package tsa

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Info describes a time-stamp token.
type Info struct {
	Time          time.Time // genTime, UTC
	Accuracy      time.Duration
	Serial        *big.Int
	Policy        x509.OID
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
	Policy x509.OID
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
//     (ErrMalformed);
//   - the signer certificate is present and is the one named by the
//     SigningCertificate(V2) attribute and the tsa field (ErrSignerCert);
//   - the CMS signature, content-type and message-digest attributes
//     (ErrSignature);
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
	t, info, err := parse(der, opts.TSACert)
	if err != nil {
		return nil, err
	}
	if info.Signer == nil {
		return nil, fmt.Errorf("%w: token carries no certificate matching its signer; pass VerifyOptions.TSACert", ErrSignerCert)
	}
	if err := t.checkSignature(info.Signer); err != nil {
		return nil, err
	}
	if err := t.checkBinding(info.Signer); err != nil {
		return nil, err
	}
	if err := CheckTSACertificate(info.Signer); err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	if opts.Intermediates != nil {
		inter = opts.Intermediates.Clone()
	}
	for _, c := range t.certs {
		inter.AddCert(c)
	}
	at := info.Time
	if !opts.CurrentTime.IsZero() {
		at = opts.CurrentTime
	}
	chains, err := info.Signer.Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChain, err)
	}
	info.Chain = chains[0]
	if !bytes.Equal(t.tst.hashOID, hashOID(opts.Hash)) {
		return nil, fmt.Errorf("%w: token imprint uses %s, expected %s", ErrImprint, oidString(t.tst.hashOID), hashName(opts.Hash))
	}
	if !bytes.Equal(info.HashedMessage, opts.Digest) {
		return nil, fmt.Errorf("%w: token certifies a different digest", ErrImprint)
	}
	if opts.Nonce != nil && (info.Nonce == nil || info.Nonce.Cmp(opts.Nonce) != 0) {
		return nil, fmt.Errorf("%w: expected %v, token has %v", ErrNonce, opts.Nonce, info.Nonce)
	}
	if !isZeroOID(opts.Policy) && !info.Policy.Equal(opts.Policy) {
		return nil, fmt.Errorf("%w: expected %s, token has %s", ErrPolicy, opts.Policy, info.Policy)
	}
	return info, nil
}

// ParseToken decodes a DER TimeStampResp or TimeStampToken WITHOUT
// verifying anything, e.g. to learn which hash to compute before Verify.
// A rejection response yields a *RejectionError.
func ParseToken(der []byte) (*Info, error) {
	_, info, err := parse(der, nil)
	return info, err
}

func parse(der []byte, tsaCert *x509.Certificate) (*signedToken, *Info, error) {
	tok, err := splitResponse(der)
	if err != nil {
		return nil, nil, err
	}
	t, err := parseToken(tok)
	if err != nil {
		return nil, nil, err
	}
	ti := t.tst
	info := &Info{
		Time:          ti.genTime.UTC(),
		Accuracy:      ti.accuracy,
		Serial:        ti.serial,
		Policy:        ti.policy,
		Hash:          supportedHash(ti.hashOID),
		HashedMessage: ti.hashedMessage,
		Nonce:         ti.nonce,
		Ordering:      ti.ordering,
		TSAName:       nameString(ti.tsaName),
		Certificates:  t.certs,
		Token:         tok,
	}
	candidates := t.certs
	if tsaCert != nil {
		candidates = append([]*x509.Certificate{tsaCert}, candidates...)
	}
	for _, c := range candidates {
		if t.signedBy(c) {
			info.Signer = c
			break
		}
	}
	return t, info, nil
}

// signedBy reports whether c is the certificate the SignerIdentifier names.
func (t *signedToken) signedBy(c *x509.Certificate) bool {
	if t.sidSKI != nil {
		return len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, t.sidSKI)
	}
	return bytes.Equal(c.RawIssuer, t.sidIssuer) && c.SerialNumber.Cmp(t.sidSerial) == 0
}

// checkSignature verifies the SignerInfo: content-type and message-digest
// attributes, then the signature over the DER signed attributes (RFC 5652
// section 5.4: the [0] IMPLICIT tag is replaced by SET OF's).
func (t *signedToken) checkSignature(signer *x509.Certificate) error {
	h := digestHash(t.digestOID)
	if h == 0 {
		return fmt.Errorf("%w: unsupported digest algorithm %s", ErrSignature, oidString(t.digestOID))
	}
	ct, ok := t.attrs[string(oidAttrContentType)]
	ctS := cryptobyte.String(ct)
	var ctOID cryptobyte.String
	if !ok || !ctS.ReadASN1(&ctOID, casn1.OBJECT_IDENTIFIER) || !bytes.Equal(ctOID, t.eContentType) {
		return fmt.Errorf("%w: content-type attribute missing or not id-ct-TSTInfo", ErrSignature)
	}
	md, ok := t.attrs[string(oidAttrMsgDigest)]
	mdS := cryptobyte.String(md)
	var mdVal cryptobyte.String
	if !ok || !mdS.ReadASN1(&mdVal, casn1.OCTET_STRING) {
		return fmt.Errorf("%w: message-digest attribute missing", ErrSignature)
	}
	d := h.New()
	d.Write(t.eContent)
	if !bytes.Equal(d.Sum(nil), mdVal) {
		return fmt.Errorf("%w: message digest does not match the TSTInfo", ErrSignature)
	}
	alg, ok := signatureAlgorithm(t.sigOID, h)
	if !ok {
		return fmt.Errorf("%w: unsupported signature algorithm %s with %s", ErrSignature, oidString(t.sigOID), hashName(h))
	}
	signed := bytes.Clone(t.signedAttrs)
	signed[0] = 0x31 // SET OF
	if err := signer.CheckSignature(alg, signed, t.signature); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return nil
}

func signatureAlgorithm(oid []byte, h crypto.Hash) (x509.SignatureAlgorithm, bool) {
	ecdsaAlg := map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}
	rsaAlg := map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}
	switch string(oid) {
	case string(oidECPublicKey):
		return ecdsaAlg[h], true
	case string(oidRSAEncryption):
		return rsaAlg[h], true
	case string(oidEd25519):
		return x509.PureEd25519, true
	case string(oidECDSAWithSHA256):
		return x509.ECDSAWithSHA256, h == crypto.SHA256
	case string(oidECDSAWithSHA384):
		return x509.ECDSAWithSHA384, h == crypto.SHA384
	case string(oidECDSAWithSHA512):
		return x509.ECDSAWithSHA512, h == crypto.SHA512
	case string(oidSHA256WithRSA):
		return x509.SHA256WithRSA, h == crypto.SHA256
	case string(oidSHA384WithRSA):
		return x509.SHA384WithRSA, h == crypto.SHA384
	case string(oidSHA512WithRSA):
		return x509.SHA512WithRSA, h == crypto.SHA512
	}
	return 0, false
}

// checkBinding checks that signer is the certificate the token's ESS
// SigningCertificateV2 (RFC 5035) or SigningCertificate (RFC 2634)
// attribute names, and matches the tsa field when that is a
// directoryName (RFC 3161 section 2.4.2).
func (t *signedToken) checkBinding(signer *x509.Certificate) error {
	var certHash []byte
	h := crypto.SHA256
	if v2, ok := t.attrs[string(oidAttrSigningCert2)]; ok {
		// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, ... }
		// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }
		s := cryptobyte.String(v2)
		var sc, certs, id cryptobyte.String
		if !s.ReadASN1(&sc, casn1.SEQUENCE) || !sc.ReadASN1(&certs, casn1.SEQUENCE) || !certs.ReadASN1(&id, casn1.SEQUENCE) {
			return fmt.Errorf("%w: bad SigningCertificateV2 attribute", ErrSignerCert)
		}
		if id.PeekASN1Tag(casn1.SEQUENCE) {
			oid, _, ok := readAlgID(&id)
			if h = supportedHash(oid); !ok || h == 0 {
				return fmt.Errorf("%w: unsupported ESSCertIDv2 hash %s", ErrSignerCert, oidString(oid))
			}
		}
		if !id.ReadASN1((*cryptobyte.String)(&certHash), casn1.OCTET_STRING) {
			return fmt.Errorf("%w: bad ESSCertIDv2", ErrSignerCert)
		}
	} else if v1, ok := t.attrs[string(oidAttrSigningCert)]; ok {
		// ESSCertID ::= SEQUENCE { certHash (SHA-1), issuerSerial OPTIONAL }
		s := cryptobyte.String(v1)
		var sc, certs, id cryptobyte.String
		if !s.ReadASN1(&sc, casn1.SEQUENCE) || !sc.ReadASN1(&certs, casn1.SEQUENCE) || !certs.ReadASN1(&id, casn1.SEQUENCE) ||
			!id.ReadASN1((*cryptobyte.String)(&certHash), casn1.OCTET_STRING) {
			return fmt.Errorf("%w: bad SigningCertificate attribute", ErrSignerCert)
		}
		sum := sha1.Sum(signer.Raw) // identification only, as RFC 2634 defines
		if !bytes.Equal(sum[:], certHash) {
			return fmt.Errorf("%w: SigningCertificate names another certificate", ErrSignerCert)
		}
		h = 0
	} else {
		return fmt.Errorf("%w: no SigningCertificate(V2) attribute", ErrSignerCert)
	}
	if h != 0 {
		d := h.New()
		d.Write(signer.Raw)
		if !bytes.Equal(d.Sum(nil), certHash) {
			return fmt.Errorf("%w: SigningCertificateV2 names another certificate", ErrSignerCert)
		}
	}
	if t.tst.tsaName != nil && !bytes.Equal(t.tst.tsaName, signer.RawSubject) {
		return fmt.Errorf("%w: tsa field %q is not the signer %q", ErrSignerCert, nameString(t.tst.tsaName), signer.Subject)
	}
	return nil
}
