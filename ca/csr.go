package ca

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// MaxCSRSize caps a certificate request, PEM or DER.
const MaxCSRSize = 16 << 10

// ParseCSR reads a PKCS#10 request in PEM or DER form, checks its
// self-signature and refuses weak or unsupported keys.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	if len(data) > MaxCSRSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrCSRTooLarge, len(data), MaxCSRSize)
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, fmt.Errorf("%w: PEM block %q, want CERTIFICATE REQUEST", ErrCSRMalformed, block.Type)
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSRMalformed, err)
	}
	if err := CheckKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSRSignature, err)
	}
	return csr, nil
}

// CheckKey accepts RSA 2048..8192 bits, ECDSA P-256/P-384/P-521 and Ed25519.
func CheckKey(pub any) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 {
			return fmt.Errorf("%w: RSA %d bits, minimum 2048", ErrWeakKey, n)
		} else if n > 8192 {
			return fmt.Errorf("%w: RSA %d bits, maximum 8192", ErrUnsupportedKey, n)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return fmt.Errorf("%w: ECDSA curve %s", ErrWeakKey, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
	return nil
}
