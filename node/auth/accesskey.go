package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Prefixes of access keys, their secrets and session keys.
const (
	AccessKeyPrefix     = "dxlak_"
	AccessSecretPrefix  = "dxlas_"
	SessionKeyPrefix    = "dxlsk_"
	SessionSecretPrefix = "dxlss_"
	// MinRSABits is the smallest RSA public key accepted.
	MinRSABits = 2048
)

// Kinds of access key.
const (
	KindHMAC = "hmac" // the node holds the secret, sealed
	KindRSA  = "rsa"  // the node holds the information system's public key
)

// AccessKey is a stored access key. An HMAC key's secret is kept only
// sealed (AES-256-GCM under the node's seal key, the key ID as associated
// data): the verifier needs the secret itself, so it cannot be hashed.
// A revoked key stays, without its secret, so that its use is reported
// as revoked.
type AccessKey struct {
	ID           string    `json:"access_key"`
	Subsystem    string    `json:"subsystem"`
	Kind         string    `json:"kind"`
	AllowSHA1    bool      `json:"allow_hmac_sha1,omitempty"`
	SealedSecret []byte    `json:"sealed_secret,omitempty"`
	PublicKey    []byte    `json:"rsa_public_key,omitempty"` // PKIX DER
	Created      time.Time `json:"created"`
	Revoked      time.Time `json:"revoked,omitzero"`
}

// Public is k without its sealed secret, for listings.
func (k AccessKey) Public() AccessKey {
	k.SealedSecret = nil
	return k
}

// NewAccessKey is what an operator asks for.
type NewAccessKey struct {
	Subsystem string `json:"subsystem"`
	// AllowSHA1 lets the key sign with DXL-HMAC-SHA1 (old systems only).
	AllowSHA1 bool `json:"allow_hmac_sha1,omitempty"`
	// RSAPublicKey, PEM (PKIX "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY"),
	// makes an RSA key: the information system signs with its private key
	// and there is no secret.
	RSAPublicKey string `json:"rsa_public_key,omitempty"`
}

// IssuedAccessKey is a created key; Secret (HMAC keys) is shown only here.
type IssuedAccessKey struct {
	AccessKey string `json:"access_key"`
	Secret    string `json:"secret_key,omitempty"`
	Subsystem string `json:"subsystem"`
	Kind      string `json:"kind"`
	AllowSHA1 bool   `json:"allow_hmac_sha1,omitempty"`
}

// KeyStore persists access keys by ID; Get of an unknown ID wraps
// ErrUnknownKey. Implementations must be safe for concurrent use.
type KeyStore interface {
	GetKey(ctx context.Context, id string) (AccessKey, error)
	PutKey(ctx context.Context, k AccessKey) error
	ListKeys(ctx context.Context) ([]AccessKey, error)
}

// MemKeyStore is an in-memory KeyStore, for tests.
type MemKeyStore struct {
	mu sync.RWMutex
	m  map[string]AccessKey
}

// NewMemKeyStore returns an empty MemKeyStore.
func NewMemKeyStore() *MemKeyStore { return &MemKeyStore{m: map[string]AccessKey{}} }

// GetKey implements KeyStore.
func (s *MemKeyStore) GetKey(_ context.Context, id string) (AccessKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.m[id]
	if !ok {
		return AccessKey{}, fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	return k, nil
}

// PutKey implements KeyStore.
func (s *MemKeyStore) PutKey(_ context.Context, k AccessKey) error {
	s.mu.Lock()
	s.m[k.ID] = k
	s.mu.Unlock()
	return nil
}

// ListKeys implements KeyStore, in ID order.
func (s *MemKeyStore) ListKeys(_ context.Context) ([]AccessKey, error) {
	s.mu.RLock()
	out := make([]AccessKey, 0, len(s.m))
	for _, k := range s.m {
		out = append(out, k)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b AccessKey) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

var boltKeys = []byte("auth_access_keys")

// BoltKeyStore is a KeyStore in the "auth_access_keys" bucket of a bbolt
// database, one JSON record per key. The caller owns the *bolt.DB.
type BoltKeyStore struct{ db *bolt.DB }

// NewBoltKeyStore creates the bucket if needed.
func NewBoltKeyStore(db *bolt.DB) (*BoltKeyStore, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil bolt database", ErrConfig)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltKeys)
		return err
	}); err != nil {
		return nil, fmt.Errorf("%w: create bucket: %w", ErrStore, err)
	}
	return &BoltKeyStore{db: db}, nil
}

// GetKey implements KeyStore.
func (s *BoltKeyStore) GetKey(_ context.Context, id string) (AccessKey, error) {
	var k AccessKey
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(boltKeys).Get([]byte(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &k)
	})
	switch {
	case err != nil:
		return AccessKey{}, fmt.Errorf("%w: get access key: %w", ErrStore, err)
	case !found:
		return AccessKey{}, fmt.Errorf("%w: %q", ErrUnknownKey, id)
	}
	return k, nil
}

// PutKey implements KeyStore.
func (s *BoltKeyStore) PutKey(_ context.Context, k AccessKey) error {
	v, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrStore, err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(boltKeys).Put([]byte(k.ID), v) }); err != nil {
		return fmt.Errorf("%w: put access key: %w", ErrStore, err)
	}
	return nil
}

// ListKeys implements KeyStore, in ID order.
func (s *BoltKeyStore) ListKeys(_ context.Context) ([]AccessKey, error) {
	var out []AccessKey
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(boltKeys).ForEach(func(_, v []byte) error {
			var k AccessKey
			if err := json.Unmarshal(v, &k); err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%w: list access keys: %w", ErrStore, err)
	}
	return out, nil
}

// sealer seals HMAC secrets at rest.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: SealKey must be 32 bytes", ErrConfig)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return &sealer{aead: aead}, nil
}

func sealAD(id string) []byte { return []byte("DXL-ACCESS-KEY-SECRET-v1\x00" + id) }

// seal is nonce || AES-256-GCM(secret), bound to the key ID.
func (s *sealer) seal(id string, secret, nonce []byte) []byte {
	return s.aead.Seal(nonce, nonce, secret, sealAD(id))
}

func (s *sealer) open(id string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("%w: sealed secret of %s truncated", ErrStore, id)
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], sealAD(id))
	if err != nil {
		return nil, fmt.Errorf("%w: sealed secret of %s does not open (another node's key?)", ErrStore, id)
	}
	return out, nil
}

// ParseRSAPublicKey reads an RSA public key of at least MinRSABits from
// PEM (PKIX or PKCS#1).
func ParseRSAPublicKey(pemText string) (*rsa.PublicKey, []byte, error) {
	blk, _ := pem.Decode([]byte(pemText))
	if blk == nil {
		return nil, nil, fmt.Errorf("%w: RSA public key: not PEM", ErrConfig)
	}
	var pub any
	var err error
	switch blk.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(blk.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(blk.Bytes)
	default:
		err = errors.New("PEM type " + blk.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: RSA public key: %v", ErrConfig, err)
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok || rk.N.BitLen() < MinRSABits {
		return nil, nil, fmt.Errorf("%w: want an RSA public key of at least %d bits", ErrConfig, MinRSABits)
	}
	der, err := x509.MarshalPKIXPublicKey(rk)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return rk, der, nil
}
