package envelope

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
)

// Sealed bodies, for Secret services (R-K1): a body sealed with HPKE
// (RFC 9180, Go's crypto/hpke) to one member's key, so that only that
// member's node can read it — not a relay, a log, a spool or anyone who
// breaks the libp2p channel.
//
// Members hold Ed25519 signing keys only. Rather than a second key pair and
// certificate per member, the recipient's X25519 key is derived from its
// Ed25519 key, the birational map libsodium uses
// (crypto_sign_ed25519_pk_to_curve25519 and _sk_to_curve25519): the public
// key with filippo.io/edwards25519, the private key as the clamped first
// half of SHA-512 of the seed. The suite is DHKEM(X25519, HKDF-SHA256),
// HKDF-SHA256, AES-256-GCM (the regulation asks for AES-256). The info
// string binds a sealed body to its request ID and direction, so a
// ciphertext cannot be replayed into another call or turned around.
//
// A sealed body is SealVersion then HPKE's enc and ciphertext. What the
// envelope signs is the sealed body's SHA-256: evidence bundles verify
// without the keys, and the signature still proves who sent which bytes.

// SealVersion is the first byte of a sealed body.
const SealVersion = 1

// sealOverhead is what sealing adds: the version, X25519 enc (32) and the
// AES-GCM tag (16).
const sealOverhead = 1 + 32 + 16

// Directions of a sealed body, in the HPKE info.
const (
	SealRequest  = "request"
	SealResponse = "response"
)

// ErrSealed: a sealed body does not open (wrong key, altered, truncated,
// or bound to another call).
var ErrSealed = errors.New("envelope: sealed body does not open")

func sealInfo(direction string, id RequestID) []byte {
	return []byte("DXL-SEALED-BODY-v1\x00" + direction + "\x00" + id.String())
}

// SealKey is the X25519 public key derived from a member's Ed25519 key.
func SealKey(pub ed25519.PublicKey) (*ecdh.PublicKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrUnsupportedKey, len(pub))
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return ecdh.X25519().NewPublicKey(p.BytesMontgomery())
}

// OpenKey is the X25519 private key derived from a member's Ed25519 key.
func OpenKey(priv ed25519.PrivateKey) (*ecdh.PrivateKey, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrUnsupportedKey, len(priv))
	}
	h := sha512.Sum512(priv.Seed())
	h[0] &= 248
	h[31] &= 127
	h[31] |= 64
	return ecdh.X25519().NewPrivateKey(h[:32])
}

// SealBody seals body for the member whose Ed25519 key is to, for the
// call id in direction.
func SealBody(to ed25519.PublicKey, direction string, id RequestID, body []byte) ([]byte, error) {
	xk, err := SealKey(to)
	if err != nil {
		return nil, err
	}
	pk, err := hpke.NewDHKEMPublicKey(xk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	ct, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.AES256GCM(), sealInfo(direction, id), body)
	if err != nil {
		return nil, err
	}
	return append([]byte{SealVersion}, ct...), nil
}

// OpenBody opens a body SealBody sealed for the holder of priv, for the
// call id in direction (ErrSealed otherwise).
func OpenBody(priv ed25519.PrivateKey, direction string, id RequestID, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead || sealed[0] != SealVersion {
		return nil, fmt.Errorf("%w: %d bytes, not a version %d sealed body", ErrSealed, len(sealed), SealVersion)
	}
	xk, err := OpenKey(priv)
	if err != nil {
		return nil, err
	}
	k, err := hpke.NewDHKEMPrivateKey(xk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	body, err := hpke.Open(k, hpke.HKDFSHA256(), hpke.AES256GCM(), sealInfo(direction, id), sealed[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return body, nil
}

// CanOpen reports whether the signer's key opens sealed bodies (an
// Ed25519 member key).
func (s *Signer) CanOpen() bool {
	_, ok := s.key.(ed25519.PrivateKey)
	return ok
}

// Open opens a body sealed to the signer's member key (OpenBody);
// ErrUnsupportedKey when the key is not Ed25519.
func (s *Signer) Open(direction string, id RequestID, sealed []byte) ([]byte, error) {
	k, ok := s.key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: sealed bodies open with an Ed25519 member key, not %T", ErrUnsupportedKey, s.key)
	}
	return OpenBody(k, direction, id, sealed)
}

// A sealed answer carries, inside the seal, the provider's signed
// response over the body in clear before the body itself: the outer
// envelope signs the sealed bytes (what travels and is logged), the inner
// one the bytes the information system gets, so its X-Signature proves
// them and no log holds a hash of Secret data.

// JoinAnswer is the clear payload of a sealed answer: the length of inner
// (4 bytes, big-endian), inner (a signed response envelope), then body.
func JoinAnswer(inner, body []byte) []byte {
	out := make([]byte, 4, 4+len(inner)+len(body))
	binary.BigEndian.PutUint32(out, uint32(len(inner)))
	return append(append(out, inner...), body...)
}

// SplitAnswer splits an opened answer into its inner envelope and body
// (ErrSealed when it is not JoinAnswer's form).
func SplitAnswer(b []byte) (inner, body []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%w: answer of %d bytes", ErrSealed, len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if n > MaxEnvelope || uint64(n) > uint64(len(b)-4) {
		return nil, nil, fmt.Errorf("%w: inner envelope of %d bytes in %d", ErrSealed, n, len(b))
	}
	return b[4 : 4+n], b[4+n:], nil
}
