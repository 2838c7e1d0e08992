package envelope

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// Detached signatures: other DXL documents a member signs with the same
// key as its envelopes (reconciliation summaries). The signature covers
// prefix || data; prefix must name the document kind, end in NUL and differ
// from the envelope prefixes, so no detached signature can ever verify as
// an envelope or as another kind of document.

// SignDetached signs prefix || data and returns the signature and the
// signer's certificate (DER).
func (s *Signer) SignDetached(prefix string, data []byte) (sig, certDER []byte, err error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, nil, err
	}
	sig, err = s.sign(append([]byte(prefix), data...))
	return sig, s.certDER, err
}

// VerifyDetached checks a detached signature by the member-sign
// certificate certDER at time at: chain and key usage (certs), revocation of
// the chain (revoked, may be nil) and the signature. It returns the signer.
func VerifyDetached(certs CertChecker, revoked func(string) bool, certDER []byte, prefix string, data, sig []byte, at time.Time) (*SignerInfo, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if len(certDER) == 0 || len(certDER) > MaxCert || len(sig) == 0 || len(sig) > MaxSignature {
		return nil, fmt.Errorf("%w: certificate or signature size", ErrMalformed)
	}
	info, err := certs.CheckSigner(certDER, sha256.Sum256(certDER), at)
	if err != nil {
		return nil, err
	}
	if !verifySig(info.PublicKey, append([]byte(prefix), data...), sig) {
		return nil, ErrSignature
	}
	if revoked != nil {
		for _, s := range info.Serials {
			if revoked(s) {
				return nil, fmt.Errorf("%w: serial %s", ErrRevoked, s)
			}
		}
	}
	return info, nil
}

func checkPrefix(p string) error {
	if len(p) < 4 || !strings.HasSuffix(p, "\x00") || strings.Count(p, "\x00") != 1 || p == RequestPrefix || p == ResponsePrefix {
		return fmt.Errorf("%w: detached-signature prefix %q", ErrMalformed, p)
	}
	return nil
}
