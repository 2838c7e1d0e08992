package auth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// RequestSigner signs HTTP requests as an information system does, with
// an access key (or a session key) and its secret or RSA private key.
type RequestSigner struct {
	// Algorithm is one of the Alg constants (default DXL-HMAC-SHA256, or
	// DXL-RSA-SHA256 when RSAKey is set).
	Algorithm string
	// Credential is the access key, or a session key.
	Credential string
	// Secret is the HMAC secret: the access key's or the session's.
	Secret string
	// RSAKey signs for an RSA access key.
	RSAKey *rsa.PrivateKey
	// Headers are further header names to sign beside host and x-dxl-date
	// (e.g. content-type, x-request-id).
	Headers []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sign sets X-DXL-Date, X-DXL-Content-SHA256 and Authorization on req,
// whose body is body (nil: none). The request's other headers must be set
// before, and neither they nor the URL changed after.
func (s RequestSigner) Sign(req *http.Request, body []byte) error {
	alg := s.Algorithm
	if alg == "" {
		alg = AlgHMACSHA256
		if s.RSAKey != nil {
			alg = AlgRSASHA256
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if req.Host == "" {
		req.Host = req.URL.Host
	}
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	req.Header.Set(HeaderDate, now().UTC().Format(DateFormat))
	req.Header.Set(HeaderContentSHA256, bodyHash)
	hs := append(slices.Clone(requiredSigned), "x-dxl-content-sha256")
	for _, h := range s.Headers {
		hs = append(hs, strings.ToLower(h))
	}
	slices.Sort(hs)
	a := Authorization{Algorithm: alg, Credential: s.Credential, SignedHeaders: slices.Compact(hs)}
	sts, err := StringToSign(req, a, bodyHash)
	if err != nil {
		return err
	}
	switch alg {
	case AlgHMACSHA256, AlgHMACSHA1:
		a.Signature = HMACSignature(alg, []byte(s.Secret), []byte(sts))
	case AlgRSASHA256, AlgRSAPSSSHA256:
		if s.RSAKey == nil {
			return fmt.Errorf("%w: %s needs RSAKey", ErrConfig, alg)
		}
		d := sha256.Sum256([]byte(sts))
		if alg == AlgRSASHA256 {
			a.Signature, err = rsa.SignPKCS1v15(rand.Reader, s.RSAKey, crypto.SHA256, d[:])
		} else {
			a.Signature, err = rsa.SignPSS(rand.Reader, s.RSAKey, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if err != nil {
			return fmt.Errorf("auth: RSA signature: %w", err)
		}
	default:
		return fmt.Errorf("%w: unknown algorithm %q", ErrConfig, alg)
	}
	req.Header.Set("Authorization", a.String())
	return nil
}

// String is the Authorization header value of a.
func (a Authorization) String() string {
	return a.Algorithm + " Credential=" + a.Credential + ", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
		", Signature=" + hex.EncodeToString(a.Signature)
}
