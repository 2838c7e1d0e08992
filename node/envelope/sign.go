package envelope

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"
)

// Signer signs envelopes with a member signing key and its member-sign
// certificate. It is safe for concurrent use if key is.
type Signer struct {
	key      crypto.Signer
	ed       bool
	certDER  []byte
	certHash [32]byte
	info     *SignerInfo
	// Now stamps envelopes whose Time is zero; nil means time.Now.
	Now func() time.Time
}

// NewSigner returns a Signer for key, whose public key cert must certify.
// Only Ed25519 and ECDSA P-256 keys are accepted (ErrUnsupportedKey). The
// certificate must carry a urn:dxl:member: URI (ErrSigner); its chain and
// key usage are the verifier's business.
func NewSigner(key crypto.Signer, cert *x509.Certificate) (*Signer, error) {
	if err := checkKey(key.Public()); err != nil {
		return nil, err
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pk, ok := key.Public().(equaler); !ok || !pk.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: key does not match the certificate", ErrSigner)
	}
	m, err := certMember(cert)
	if err != nil {
		return nil, err
	}
	_, ed := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, ed: ed, certDER: cert.Raw, certHash: sha256.Sum256(cert.Raw),
		info: &SignerInfo{Member: m, Cert: cert, PublicKey: cert.PublicKey}}, nil
}

func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return nil
		}
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return nil
		}
		return fmt.Errorf("%w: ECDSA curve %s (want P-256)", ErrUnsupportedKey, k.Curve.Params().Name)
	}
	return fmt.Errorf("%w: %T (want Ed25519 or ECDSA P-256)", ErrUnsupportedKey, pub)
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Signer) sign(signed []byte) ([]byte, error) {
	if s.ed {
		return s.key.Sign(rand.Reader, signed, crypto.Hash(0))
	}
	d := sha256.Sum256(signed)
	return s.key.Sign(rand.Reader, d[:], crypto.SHA256)
}

// SignRequest fills Version (if zero) and Time (if zero), validates r,
// checks that the client's member is the signer's and signs.
func (s *Signer) SignRequest(r Request) (*SignedRequest, error) {
	if r.Version == 0 {
		r.Version = Version
	}
	if r.Time.IsZero() {
		r.Time = s.now()
	}
	r.Time = time.Unix(0, r.Time.UnixNano()).UTC()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.ClientMember() != s.info.Member {
		return nil, fmt.Errorf("%w: client %s is not of signer member %s", ErrSigner, r.Client, s.info.Member)
	}
	signed := r.appendSigned(make([]byte, 0, 256+len(r.Path)), &s.certHash)
	sig, err := s.sign(signed)
	if err != nil {
		return nil, fmt.Errorf("envelope: sign request: %w", err)
	}
	raw := assemble(signed, s.certDER, sig)
	if len(raw) > MaxEnvelope {
		return nil, fmt.Errorf("%w: envelope of %d bytes", ErrTooLarge, len(raw))
	}
	return &SignedRequest{Request: r, Raw: raw, Hash: sha256.Sum256(raw), Signed: raw[4 : 4+len(signed)],
		CertDER: s.certDER, Signature: sig, Signer: s.info}, nil
}

// SignResponse answers req: it sets RequestID and RequestHash from req,
// Version and Time (if zero), checks that the signer is the provider member
// of req.Service and signs.
func (s *Signer) SignResponse(req *SignedRequest, r Response) (*SignedResponse, error) {
	if r.Version == 0 {
		r.Version = Version
	}
	if r.Time.IsZero() {
		r.Time = s.now()
	}
	r.Time = time.Unix(0, r.Time.UnixNano()).UTC()
	r.RequestID, r.RequestHash = req.RequestID, req.Hash
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if req.ProviderMember() != s.info.Member {
		return nil, fmt.Errorf("%w: service %s is not of signer member %s", ErrSigner, req.Service, s.info.Member)
	}
	signed := r.appendSigned(make([]byte, 0, 256), &s.certHash)
	sig, err := s.sign(signed)
	if err != nil {
		return nil, fmt.Errorf("envelope: sign response: %w", err)
	}
	raw := assemble(signed, s.certDER, sig)
	return &SignedResponse{Response: r, Raw: raw, Hash: sha256.Sum256(raw), Signed: raw[4 : 4+len(signed)],
		CertDER: s.certDER, Signature: sig, Signer: s.info}, nil
}
