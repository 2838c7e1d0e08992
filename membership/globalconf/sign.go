package globalconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"time"
)

// SigningPrefix is prepended to the canonical document bytes to form the
// signing input. It separates this signature from every other signature a
// registry key could make: "DXL-GLOBAL-CONFIG-v1" and a NUL octet.
const SigningPrefix = "DXL-GLOBAL-CONFIG-v1\x00"

// MaxSignedSize caps the signed wire form Verify and the Client accept.
const MaxSignedSize = 16 << 20

// Signature algorithms, named in Signed.Algorithm. The algorithm follows
// from the signer's key: ECDSA signs SHA-256 of the input (ASN.1 DER
// signature), Ed25519 signs the input itself (pure Ed25519), RSA signs
// SHA-256 of the input with PSS, MGF1-SHA-256 and a 32-octet salt.
const (
	AlgECDSASHA256  = "ecdsa-sha256"
	AlgEd25519      = "ed25519"
	AlgRSAPSSSHA256 = "rsa-pss-sha256"
)

// Signed is the wire form of a signed configuration, served as JSON:
//
//	{"config":"<base64 canonical document>","signature":"<base64>",
//	 "algorithm":"ecdsa-sha256","certificate":"<base64 DER of the signer>"}
type Signed struct {
	Config      []byte `json:"config"`
	Signature   []byte `json:"signature"`
	Algorithm   string `json:"algorithm"`
	Certificate []byte `json:"certificate"`
}

// Marshal returns the JSON wire form.
func (s *Signed) Marshal() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return b, nil
}

// SigningInput returns SigningPrefix || config, the bytes a signature covers.
func SigningInput(config []byte) []byte {
	return append([]byte(SigningPrefix), config...)
}

// Sign normalizes and validates doc (in place), and signs its canonical
// encoding with key. chain[0] is the certificate of key (the registry-config
// certificate); chain[1:] may add its issuers. As a self-check, the signer
// must chain, through chain[1:] and doc.CAChain, to a self-signed root among
// them at doc.IssuedAt, so a registry cannot publish a configuration its
// nodes would refuse for a chain mismatch.
func Sign(doc *Document, key crypto.Signer, chain []*x509.Certificate) (*Signed, error) {
	if doc == nil || key == nil || len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: Sign needs a document, a key and the key's certificate", ErrUnknownSigner)
	}
	signer := chain[0]
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.PublicKey) {
		return nil, fmt.Errorf("%w: key does not match certificate %s", ErrUnknownSigner, signer.Subject)
	}
	config, err := doc.Canonical()
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	cas, err := doc.CACertificates()
	if err != nil {
		return nil, err
	}
	if err := checkChain(signer, nil, append(cas, chain[1:]...), doc.IssuedAt); err != nil {
		return nil, err
	}
	sig, alg, err := signInput(key, config)
	if err != nil {
		return nil, err
	}
	return &Signed{Config: config, Signature: sig, Algorithm: alg, Certificate: signer.Raw}, nil
}

func signInput(key crypto.Signer, config []byte) (sig []byte, alg string, err error) {
	switch key.Public().(type) {
	case *ecdsa.PublicKey:
		h := digest(config)
		sig, err = key.Sign(rand.Reader, h, crypto.SHA256)
		alg = AlgECDSASHA256
	case ed25519.PublicKey:
		sig, err = key.Sign(rand.Reader, SigningInput(config), crypto.Hash(0))
		alg = AlgEd25519
	case *rsa.PublicKey:
		h := digest(config)
		sig, err = key.Sign(rand.Reader, h, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
		alg = AlgRSAPSSSHA256
	default:
		return nil, "", fmt.Errorf("%w: unsupported key type %T (want ECDSA, Ed25519 or RSA)", ErrSignature, key.Public())
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: sign: %v", ErrSignature, err)
	}
	return sig, alg, nil
}

// digest is SHA-256(SigningPrefix || config) without copying config.
func digest(config []byte) []byte {
	h := sha256.New()
	h.Write([]byte(SigningPrefix))
	h.Write(config)
	return h.Sum(nil)
}

func checkSignature(pub crypto.PublicKey, alg string, config, sig []byte) error {
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = alg == AlgECDSASHA256 && ecdsa.VerifyASN1(k, digest(config), sig)
	case ed25519.PublicKey:
		ok = alg == AlgEd25519 && ed25519.Verify(k, SigningInput(config), sig)
	case *rsa.PublicKey:
		ok = alg == AlgRSAPSSSHA256 && rsa.VerifyPSS(k, crypto.SHA256, digest(config), sig,
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}) == nil
	}
	if !ok {
		return fmt.Errorf("%w: algorithm %q, signer key %T", ErrSignature, alg, pub)
	}
	return nil
}

// checkChain verifies that leaf chains to a root at t. roots, when nil, are
// the self-signed certificates among cands; the other candidates serve as
// intermediates. Extended key usage is ignored: the registry-config profile
// has none, and the anchor, not a key purpose, makes a signer trusted.
func checkChain(leaf *x509.Certificate, roots []*x509.Certificate, cands []*x509.Certificate, t time.Time) error {
	rootPool, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range roots {
		rootPool.AddCert(r)
	}
	auto := roots == nil
	for _, c := range cands {
		if auto && bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil {
			rootPool.AddCert(c)
			roots = append(roots, c)
		} else {
			inter.AddCert(c)
		}
	}
	if len(roots) == 0 {
		return fmt.Errorf("%w: no root certificate to check against", ErrChain)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: rootPool, Intermediates: inter, CurrentTime: t,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("%w: %s at %s: %v", ErrChain, leaf.Subject, t.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// verified is what verify learned beyond the document.
type verified struct {
	doc    *Document
	signed *Signed
	signer *x509.Certificate
}

// Verify checks a signed configuration against the anchor at time now and
// returns its document. In order: size (ErrTooLarge); strict JSON of the
// wire form (ErrMalformed); the signer certificate is one the anchor names,
// by SHA-256 fingerprint (ErrUnknownSigner); the signature over
// SigningPrefix || config (ErrSignature); the document parses strictly
// (ErrMalformed) and is exactly its canonical encoding (ErrNotCanonical);
// it obeys Document.Validate, which includes version > 0 (ErrMalformed);
// its instance is the anchor's (ErrInstance); the signer chains to an
// anchor root at now, with the document's CA chain as intermediates
// (ErrChain); issued_at is at most the policy's max clock skew ahead of now
// (ErrNotYetValid).
//
// Expiry is not checked: an expired document verifies, and the caller
// decides with Document.Expired and Document.Age (the Client refuses only
// documents older than the maximum age).
func Verify(raw []byte, anchor *Anchor, now time.Time) (*Document, error) {
	v, err := verify(raw, anchor, now)
	if err != nil {
		return nil, err
	}
	return v.doc, nil
}

func verify(raw []byte, anchor *Anchor, now time.Time) (*verified, error) {
	if anchor == nil {
		return nil, fmt.Errorf("%w: no anchor", ErrBadAnchor)
	}
	if len(raw) > MaxSignedSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(raw), MaxSignedSize)
	}
	var s Signed
	if err := decodeStrict(raw, &s); err != nil {
		return nil, err
	}
	if len(s.Config) == 0 || len(s.Signature) == 0 || len(s.Certificate) == 0 || s.Algorithm == "" {
		return nil, fmt.Errorf("%w: config, signature, algorithm and certificate are all required", ErrMalformed)
	}
	signer, err := x509.ParseCertificate(s.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: signer certificate: %v", ErrMalformed, err)
	}
	if !anchor.IsSigner(signer) {
		return nil, fmt.Errorf("%w: %s (sha256 %s)", ErrUnknownSigner, signer.Subject, fingerprint(signer))
	}
	if err := checkSignature(signer.PublicKey, s.Algorithm, s.Config, s.Signature); err != nil {
		return nil, err
	}
	doc, err := ParseDocument(s.Config)
	if err != nil {
		return nil, err
	}
	canon, err := doc.Canonical()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, s.Config) {
		return nil, fmt.Errorf("%w: re-encoding differs at byte %d", ErrNotCanonical, firstDiff(canon, s.Config))
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	if doc.Instance != anchor.Instance {
		return nil, fmt.Errorf("%w: %q, anchor is for %q", ErrInstance, doc.Instance, anchor.Instance)
	}
	cas, err := doc.CACertificates()
	if err != nil {
		return nil, err
	}
	if err := checkChain(signer, anchor.Roots, cas, now); err != nil {
		return nil, err
	}
	if skew := time.Duration(doc.Policy.MaxClockSkew); doc.IssuedAt.After(now.Add(skew)) {
		return nil, fmt.Errorf("%w: issued_at %s is more than %s after %s", ErrNotYetValid,
			doc.IssuedAt.Format(time.RFC3339), skew, now.UTC().Format(time.RFC3339))
	}
	return &verified{doc: doc, signed: &s, signer: signer}, nil
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
