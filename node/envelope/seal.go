package envelope

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/sha512"
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
