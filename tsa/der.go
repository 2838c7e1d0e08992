package tsa

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultPolicy is the TSA policy OID used when Config.Policy is zero.
//
// DXL has no registered OID arc of its own, so the policy lives under
// 2.25, the arc ITU-T X.667 | ISO/IEC 9834-8 reserves for UUIDs: the OID
// 2.25.N, where N is the UUID read as one unsigned 128-bit integer, may be
// used by anyone without registration and is unique by construction. N
// here is random UUID v4 503be15e-a7df-4a4a-96a4-7c64ab1f459f, generated
// once for DXL and fixed forever; never change it, as verifiers pin it.
//
// Its second arc does not fit in encoding/asn1.ObjectIdentifier (arcs are
// limited to int32), which is why this package uses crypto/x509.OID for
// policies and parses tokens with cryptobyte instead of
// digitorus/timestamp.Parse. An operator who needs tokens readable by
// encoding/asn1-based verifiers can set a shorter policy OID of their own.
var DefaultPolicy = mustOID("2.25.106649156219008860558053406395452048799")

// MaxRequestSize caps a TimeStampReq. A real request is under 200 bytes
// (SHA-512 imprint, 64-bit nonce, policy); 8 KiB leaves room for odd
// clients while bounding the work an anonymous peer can cause.
const MaxRequestSize = 8 << 10

// maxNonceLen caps the nonce's content octets. RFC 3161 suggests a 64-bit
// random integer; a longer one only inflates tokens.
const maxNonceLen = 64

// MIME types of the RFC 3161 HTTP transport (RFC 3161 section 3.4).
const (
	ContentTypeQuery = "application/timestamp-query"
	ContentTypeReply = "application/timestamp-reply"
)

// OID content octets (no tag or length), compared as bytes.
var (
	oidSHA1             = oidBytes("1.3.14.3.2.26")
	oidSHA256           = oidBytes("2.16.840.1.101.3.4.2.1")
	oidSHA384           = oidBytes("2.16.840.1.101.3.4.2.2")
	oidSHA512           = oidBytes("2.16.840.1.101.3.4.2.3")
	oidSignedData       = oidBytes("1.2.840.113549.1.7.2")
	oidTSTInfo          = oidBytes("1.2.840.113549.1.9.16.1.4")
	oidAttrContentType  = oidBytes("1.2.840.113549.1.9.3")
	oidAttrMsgDigest    = oidBytes("1.2.840.113549.1.9.4")
	oidAttrSigningCert  = oidBytes("1.2.840.113549.1.9.16.2.12")
	oidAttrSigningCert2 = oidBytes("1.2.840.113549.1.9.16.2.47")
	oidECDSAWithSHA256  = oidBytes("1.2.840.10045.4.3.2")
	oidECDSAWithSHA384  = oidBytes("1.2.840.10045.4.3.3")
	oidECDSAWithSHA512  = oidBytes("1.2.840.10045.4.3.4")
	oidECPublicKey      = oidBytes("1.2.840.10045.2.1")
	oidRSAEncryption    = oidBytes("1.2.840.113549.1.1.1")
	oidSHA256WithRSA    = oidBytes("1.2.840.113549.1.1.11")
	oidSHA384WithRSA    = oidBytes("1.2.840.113549.1.1.12")
	oidSHA512WithRSA    = oidBytes("1.2.840.113549.1.1.13")
	oidEd25519          = oidBytes("1.3.101.112")
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}

	// oidTSTInfoASN1 is id-ct-TSTInfo for github.com/digitorus/pkcs7.
	oidTSTInfoASN1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	// oidSigningCert2ASN1 is id-aa-signingCertificateV2 for pkcs7.
	oidSigningCert2ASN1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

func mustOID(s string) x509.OID {
	o, err := x509.ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

func oidBytes(s string) []byte {
	b, _ := mustOID(s).MarshalBinary()
	return b
}

// ParsePolicy parses a dotted OID such as "2.25.1234" or
// "1.3.6.1.4.1.99999.1" of any arc size.
func ParsePolicy(s string) (x509.OID, error) {
	o, err := x509.ParseOID(strings.TrimSpace(s))
	if err != nil {
		return x509.OID{}, fmt.Errorf("%w: policy %q: %v", ErrConfig, s, err)
	}
	return o, nil
}

func isZeroOID(o x509.OID) bool { return o.Equal(x509.OID{}) }

// oidFromDER wraps OID content octets, rejecting invalid encodings.
func oidFromDER(b []byte) (x509.OID, bool) {
	var o x509.OID
	if err := o.UnmarshalBinary(b); err != nil {
		return x509.OID{}, false
	}
	return o, true
}

// supportedHash maps an imprint algorithm OID to the hash it names; only
// SHA-256, SHA-384 and SHA-512 are accepted for imprints.
func supportedHash(oid []byte) crypto.Hash {
	switch string(oid) {
	case string(oidSHA256):
		return crypto.SHA256
	case string(oidSHA384):
		return crypto.SHA384
	case string(oidSHA512):
		return crypto.SHA512
	}
	return 0
}

func hashOID(h crypto.Hash) []byte {
	switch h {
	case crypto.SHA256:
		return oidSHA256
	case crypto.SHA384:
		return oidSHA384
	case crypto.SHA512:
		return oidSHA512
	}
	return nil
}

// hashName is the lower-case name used in logs and flags.
func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}

// ParseHash maps "sha256", "sha384" or "sha512" (case-insensitive, dash
// allowed) to a crypto.Hash.
func ParseHash(s string) (crypto.Hash, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "-", "") {
	case "sha256":
		return crypto.SHA256, nil
	case "sha384":
		return crypto.SHA384, nil
	case "sha512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: hash %q (want sha256, sha384 or sha512)", ErrConfig, s)
}

// addAlgID appends AlgorithmIdentifier{oid, NULL}, the form OpenSSL and
// digitorus use for digest algorithms.
func addAlgID(b *cryptobyte.Builder, oid []byte) {
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oid) })
		b.AddASN1NULL()
	})
}

// readAlgID reads an AlgorithmIdentifier and returns the OID content and
// whether the parameters are absent or NULL.
func readAlgID(s *cryptobyte.String) (oid []byte, nullParams, ok bool) {
	var alg cryptobyte.String
	if !s.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1((*cryptobyte.String)(&oid), casn1.OBJECT_IDENTIFIER) {
		return nil, false, false
	}
	if alg.Empty() {
		return oid, true, true
	}
	var params cryptobyte.String
	var tag casn1.Tag
	if !alg.ReadAnyASN1(&params, &tag) || !alg.Empty() {
		return nil, false, false
	}
	return oid, tag == casn1.NULL && len(params) == 0, true
}
