package tsa

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DefaultPolicy is the TSA policy OID used when Config.Policy is nil:
// 2.999.3161.1.
//
// DXL has no registered OID arc of its own. 2.999 is {joint-iso-itu-t(2)
// example(999)}, the arc ITU-T X.660 | ISO/IEC 9834-1 sets aside for
// examples: free to use, assigned to no organisation. So this OID names no
// real operator's policy; it is a placeholder. An operator running a TSA
// should set a policy OID under its own registered arc in tsa.json; New
// logs a warning while the default is in use.
//
// Any policy must be representable by encoding/asn1 (every arc within 31
// bits) so that digitorus/timestamp and other Go verifiers can read the
// tokens; see ParsePolicy.
var DefaultPolicy = asn1.ObjectIdentifier{2, 999, 3161, 1}

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

// Hash OID content octets (no tag or length), compared as bytes by the
// request parser.
var (
	oidSHA256 = oidBytes("2.16.840.1.101.3.4.2.1")
	oidSHA384 = oidBytes("2.16.840.1.101.3.4.2.2")
	oidSHA512 = oidBytes("2.16.840.1.101.3.4.2.3")
)

// OIDs for encoding/asn1, crypto/x509 and github.com/digitorus/pkcs7.
var (
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	// id-ct-TSTInfo, the eContentType of a TimeStampToken.
	oidTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	// id-aa-signingCertificate (RFC 2634) and id-aa-signingCertificateV2
	// (RFC 5035), the ESS attributes binding the signer certificate.
	oidSigningCert  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCert2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
)

// oidBytes returns the content octets of a dotted OID.
func oidBytes(s string) []byte {
	o, err := x509.ParseOID(s)
	if err != nil {
		panic(err)
	}
	b, _ := o.MarshalBinary()
	return b
}

// ParsePolicy parses a dotted policy OID such as "1.3.6.1.4.1.99999.1".
// It refuses OIDs that encoding/asn1 cannot represent: every arc must fit
// in 31 bits (and the first two, combined as 40*a+b, too). That rules out
// 2.25.<UUID> OIDs, whose second arc is a 128-bit integer: tokens under
// such a policy cannot be read by digitorus/timestamp or any verifier
// built on encoding/asn1.
func ParsePolicy(s string) (asn1.ObjectIdentifier, error) {
	s = strings.TrimSpace(s)
	if _, err := x509.ParseOID(s); err != nil {
		return nil, fmt.Errorf("%w: policy %q: %v", ErrConfig, s, err)
	}
	var oid asn1.ObjectIdentifier
	for _, arc := range strings.Split(s, ".") {
		n, err := strconv.ParseInt(arc, 10, 32)
		if err != nil {
			return nil, policyTooLarge(s)
		}
		oid = append(oid, int(n))
	}
	if err := checkPolicy(oid); err != nil {
		return nil, err
	}
	return oid, nil
}

// checkPolicy reports whether encoding/asn1 encodes oid and decodes it
// back unchanged, which is what readers of the token need.
func checkPolicy(oid asn1.ObjectIdentifier) error {
	der, err := asn1.Marshal(oid)
	if err != nil {
		return fmt.Errorf("%w: policy %v: %v", ErrConfig, oid, err)
	}
	var back asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(der, &back); err != nil || len(rest) > 0 || !back.Equal(oid) {
		return policyTooLarge(oid.String())
	}
	return nil
}

func policyTooLarge(s string) error {
	return fmt.Errorf("%w: policy %s has an arc too large for encoding/asn1 (31 bits at most), so "+
		"digitorus/timestamp and other Go verifiers could not read the tokens; 2.25.<UUID> OIDs are "+
		"not usable, use one under a registered arc", ErrConfig, s)
}

// oidFromDER wraps OID content octets, rejecting invalid encodings. Any
// arc size is accepted: it only checks and prints OIDs found in requests.
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
