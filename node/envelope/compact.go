package envelope

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Compact forms: a log that keeps many envelopes of few signers stores
// each signer certificate once. An envelope's compact form is the same
// framing with an empty certificate (which no envelope has: its
// certificate is 1..MaxCert bytes); the signed part still commits to the
// certificate's SHA-256, under which the log keeps it.

// Compact returns raw's compact form and the certificate it leaves out,
// with its SHA-256 (the certHash raw's signed part holds).
func Compact(raw []byte) (compact, cert []byte, certHash [32]byte, err error) {
	signed, cert, sig, err := split(raw)
	if err != nil {
		return nil, nil, certHash, err
	}
	if certHash, err = signedCertHash(signed); err != nil {
		return nil, nil, certHash, err
	}
	if sha256.Sum256(cert) != certHash {
		return nil, nil, certHash, fmt.Errorf("%w: certificate does not match its hash", ErrMalformed)
	}
	compact = make([]byte, 0, 4+len(signed)+2+2+len(sig))
	compact = binary.BigEndian.AppendUint32(compact, uint32(len(signed)))
	compact = append(compact, signed...)
	compact = binary.BigEndian.AppendUint16(compact, 0)
	compact = binary.BigEndian.AppendUint16(compact, uint16(len(sig)))
	return append(compact, sig...), cert, certHash, nil
}

// CompactCertHash reports whether b is a compact form and the SHA-256 of
// the certificate it leaves out.
func CompactCertHash(b []byte) (certHash [32]byte, ok bool) {
	if len(b) < 4 {
		return certHash, false
	}
	n := int(binary.BigEndian.Uint32(b))
	if n > len(b)-4-4 || binary.BigEndian.Uint16(b[4+n:]) != 0 {
		return certHash, false
	}
	h, err := signedCertHash(b[4 : 4+n])
	return h, err == nil
}

// Expand puts cert back into the compact form b: the envelope as it was.
func Expand(b, cert []byte) ([]byte, error) {
	h, ok := CompactCertHash(b)
	if !ok || sha256.Sum256(cert) != h {
		return nil, fmt.Errorf("%w: not a compact envelope of that certificate", ErrMalformed)
	}
	n := 4 + int(binary.BigEndian.Uint32(b))
	var out bytes.Buffer
	out.Grow(len(b) + len(cert))
	out.Write(b[:n])
	_ = binary.Write(&out, binary.BigEndian, uint16(len(cert)))
	out.Write(cert)
	out.Write(b[n+2:])
	if _, _, _, err := split(out.Bytes()); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// signedCertHash is the certHash field of a request's or a response's
// signed part.
func signedCertHash(signed []byte) ([32]byte, error) {
	switch {
	case bytes.HasPrefix(signed, []byte(RequestPrefix)):
		return header(signed, RequestPrefix)
	case bytes.HasPrefix(signed, []byte(ResponsePrefix)):
		return header(signed, ResponsePrefix)
	}
	return [32]byte{}, fmt.Errorf("%w: neither a request nor a response", ErrMalformed)
}
