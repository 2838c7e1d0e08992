package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/digitorus/pkcs7"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tokenSigner issues TimeStampTokens. Everything that does not depend on
// the request is computed once in newTokenSigner.
//
// TSTInfo is built here, not by digitorus/timestamp: the pinned
// Timestamp.CreateResponseWithOpts ignores SerialNumber (it always draws a
// random one), and DXL's serials increase. Building it by hand also lets
// everything but the imprint, serial, time and nonce be encoded once. The
// SignedData around it is made with github.com/digitorus/pkcs7 exactly as
// digitorus' generateSignedData does: content type id-ct-TSTInfo,
// SignedData version 3, and a SigningCertificateV2 signed attribute; the
// result is read back by digitorus/timestamp.Parse (see Verify).
type tokenSigner struct {
	key       crypto.Signer
	leaf      *x509.Certificate
	extra     []*x509.Certificate // sent after the leaf when certReq is set
	digestOID asn1.ObjectIdentifier

	head   []byte            // TSTInfo: version and policy
	tail   []byte            // TSTInfo: accuracy (nonce goes between) ...
	name   []byte            // ... then tsa [0] directoryName
	attrs  []pkcs7.Attribute // SigningCertificateV2 over the leaf
	status []byte            // PKIStatusInfo{granted}
}

// signatureHash picks the CMS digest for a TSA key: the hash matching the
// curve for ECDSA, SHA-256 for RSA of at least 2048 bits.
func signatureHash(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
		return 0, fmt.Errorf("%w: unsupported ECDSA curve", ErrConfig)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return 0, fmt.Errorf("%w: RSA key shorter than 2048 bits", ErrConfig)
		}
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("%w: unsupported key type %T (use ECDSA or RSA)", ErrConfig, pub)
}

func newTokenSigner(key crypto.Signer, chain []*x509.Certificate, policy asn1.ObjectIdentifier, accuracy time.Duration) (*tokenSigner, error) {
	leaf := chain[0]
	h, err := signatureHash(leaf.PublicKey)
	if err != nil {
		return nil, err
	}
	s := &tokenSigner{key: key, leaf: leaf}
	switch h {
	case crypto.SHA256:
		s.digestOID = pkcs7.OIDDigestAlgorithmSHA256
	case crypto.SHA384:
		s.digestOID = pkcs7.OIDDigestAlgorithmSHA384
	default:
		s.digestOID = pkcs7.OIDDigestAlgorithmSHA512
	}
	// The chain sent on certReq: leaf (added by pkcs7) and intermediates.
	// A self-signed root is left out: a verifier must have it already, and
	// trusting one found in the token would be a mistake.
	for _, c := range chain[1:] {
		if isSelfSigned(c) {
			continue
		}
		s.extra = append(s.extra, c)
	}

	if err := checkPolicy(policy); err != nil {
		return nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1Int64(1)
	b.AddASN1ObjectIdentifier(policy)
	if s.head, err = b.Bytes(); err != nil {
		return nil, err
	}
	if accuracy > 0 {
		b = cryptobyte.Builder{}
		addAccuracy(&b, accuracy)
		if s.tail, err = b.Bytes(); err != nil {
			return nil, err
		}
	}
	// tsa [0] GeneralName: a CHOICE, so explicitly tagged; directoryName
	// [4] Name is explicit too.
	b = cryptobyte.Builder{}
	b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddBytes(leaf.RawSubject)
		})
	})
	if s.name, err = b.Bytes(); err != nil {
		return nil, err
	}
	ess, err := signingCertificateV2(leaf)
	if err != nil {
		return nil, err
	}
	s.attrs = []pkcs7.Attribute{{Type: oidSigningCert2, Value: asn1.RawValue{FullBytes: ess}}}
	b = cryptobyte.Builder{}
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0) })
	if s.status, err = b.Bytes(); err != nil {
		return nil, err
	}
	return s, nil
}

// addAccuracy appends Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL,
// millis [0] INTEGER (1..999) OPTIONAL, micros [1] INTEGER (1..999)
// OPTIONAL }, rounding a sub-microsecond remainder up.
func addAccuracy(b *cryptobyte.Builder, d time.Duration) {
	if d%time.Microsecond != 0 {
		d = d.Truncate(time.Microsecond) + time.Microsecond
	}
	sec := int64(d / time.Second)
	ms := int64(d % time.Second / time.Millisecond)
	us := int64(d % time.Millisecond / time.Microsecond)
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if sec > 0 {
			b.AddASN1Int64(sec)
		}
		if ms > 0 {
			b.AddASN1Int64WithTag(ms, casn1.Tag(0).ContextSpecific())
		}
		if us > 0 {
			b.AddASN1Int64WithTag(us, casn1.Tag(1).ContextSpecific())
		}
	})
}

// signingCertificateV2 encodes SigningCertificateV2 ::= SEQUENCE { certs
// SEQUENCE OF ESSCertIDv2 } with one ESSCertIDv2 { certHash = SHA-256 of
// the certificate (hashAlgorithm left at its DEFAULT), issuerSerial }
// (RFC 5035).
func signingCertificateV2(cert *x509.Certificate) ([]byte, error) {
	sum := sha256.Sum256(cert.Raw)
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1OctetString(sum[:])
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
						b.AddASN1(casn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
						})
					})
					b.AddASN1BigInt(cert.SerialNumber)
				})
			})
		})
	})
	return b.Bytes()
}

// appendGenTime appends t as a DER GeneralizedTime body: UTC, "Z",
// millisecond fraction without trailing zeros (and no dot when zero).
func appendGenTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "20060102150405.999Z")
}

// tstInfo encodes the TSTInfo for req (RFC 3161 section 2.4.2):
// ordering is left at its DEFAULT FALSE, no extensions.
func (s *tokenSigner) tstInfo(req *ParsedRequest, serial uint64, t time.Time) ([]byte, error) {
	var tb [24]byte
	gen := appendGenTime(tb[:0], t)
	b := cryptobyte.NewBuilder(make([]byte, 0, 128+len(req.imprint)+len(req.nonce)+len(s.name)))
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(s.head)
		b.AddBytes(req.imprint)
		b.AddASN1Uint64(serial)
		b.AddASN1(casn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes(gen) })
		b.AddBytes(s.tail)
		b.AddBytes(req.nonce)
		b.AddBytes(s.name)
	})
	return b.Bytes()
}

// token signs a TSTInfo and returns the TimeStampToken (a CMS ContentInfo).
func (s *tokenSigner) token(tst []byte, certReq bool) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(tst)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(s.digestOID)
	sd.SetContentType(oidTSTInfo)
	sd.GetSignedData().Version = 3
	cfg := pkcs7.SignerInfoConfig{ExtraSignedAttributes: s.attrs, SkipCertificates: !certReq}
	if err := sd.AddSigner(s.leaf, s.key, cfg); err != nil {
		return nil, err
	}
	if certReq {
		for _, c := range s.extra {
			sd.AddCertificate(c)
		}
	}
	return sd.Finish()
}

// response wraps a token in TimeStampResp{status granted}.
func (s *tokenSigner) response(token []byte) ([]byte, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, len(token)+16))
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(s.status)
		b.AddBytes(token)
	})
	return b.Bytes()
}

func isSelfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}
