package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"go.step.sm/crypto/jose"

	"github.com/dxl-network/dxl/internal/ident"
)

// Prefixes of consumer keys and secrets, so that leaked values are easy to
// recognise (and to scan for).
const (
	KeyPrefix    = "dxlck_"
	SecretPrefix = "dxlcs_"
	keyBytes     = 16
	secretBytes  = 32
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Authority issues and verifies access tokens and manages consumer
// credentials. It is safe for concurrent use.
type Authority struct {
	cfg    Config
	signer jose.Signer
	log    *slog.Logger
	randMu sync.Mutex // Config.Rand need not be safe for concurrent use
	dummy  []byte     // digest compared against for unknown keys
	thr    *throttle  // failed token requests per consumer key and per address
	m      *metrics
}

// Credential is what the operator hands to an information system. Secret
// is only ever returned here, at creation or rotation.
type Credential struct {
	KeyID     string `json:"key_id"`
	Secret    string `json:"secret"`
	Subsystem string `json:"subsystem"`
}

// New returns an Authority for cfg.
func New(cfg Config) (*Authority, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: cfg.Key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("%w: signer: %w", ErrConfig, err)
	}
	a := &Authority{cfg: cfg, signer: signer, log: cfg.Logger.With("component", "auth"), m: newMetrics(),
		thr: newThrottle(cfg.ThrottleAfter, cfg.ThrottleBackoff, cfg.ThrottleMax, cfg.ThrottleEntries)}
	d := sha256.Sum256([]byte("dxl auth dummy secret"))
	a.dummy = d[:]
	return a, nil
}

func (a *Authority) random(n int) ([]byte, error) {
	b := make([]byte, n)
	a.randMu.Lock()
	_, err := io.ReadFull(a.cfg.Rand, b)
	a.randMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("auth: read random: %w", err)
	}
	return b, nil
}

func (a *Authority) randomString(prefix string, n int) (string, error) {
	b, err := a.random(n)
	if err != nil {
		return "", err
	}
	return prefix + strings.ToLower(b32.EncodeToString(b)), nil
}

func hashSecret(secret string) []byte {
	d := sha256.Sum256([]byte(secret))
	return d[:]
}

// CheckSubsystem checks a client subsystem ID INSTANCE/CLASS/MEMBER/SUBSYSTEM.
func CheckSubsystem(s string) error {
	parts := strings.Split(s, "/")
	if len(parts) != 4 {
		return fmt.Errorf("%w: %q: want INSTANCE/CLASS/MEMBER/SUBSYSTEM", ErrSubsystem, s)
	}
	for _, p := range parts {
		if err := ident.CheckPart(p); err != nil {
			return fmt.Errorf("%w: %w", ErrSubsystem, err)
		}
	}
	return nil
}

// Create makes a new credential for subsystem and stores its hash.
func (a *Authority) Create(ctx context.Context, subsystem string) (Credential, error) {
	if err := CheckSubsystem(subsystem); err != nil {
		return Credential{}, err
	}
	keyID, err := a.randomString(KeyPrefix, keyBytes)
	if err != nil {
		return Credential{}, err
	}
	secret, err := a.randomString(SecretPrefix, secretBytes)
	if err != nil {
		return Credential{}, err
	}
	rec := Record{KeyID: keyID, Subsystem: subsystem, SecretHash: hashSecret(secret),
		Generation: 1, Created: a.cfg.Now().UTC()}
	if err := a.cfg.Store.Put(ctx, rec); err != nil {
		return Credential{}, wrapStore(err)
	}
	a.log.Info("credential created", "key_id", keyID, "subsystem", subsystem)
	return Credential{KeyID: keyID, Secret: secret, Subsystem: subsystem}, nil
}

// Rotate replaces the secret of keyID. The old secret stops working and so
// does every token issued under it (the generation changes).
func (a *Authority) Rotate(ctx context.Context, keyID string) (Credential, error) {
	rec, err := a.cfg.Store.Get(ctx, keyID)
	if err != nil {
		return Credential{}, wrapStore(err)
	}
	secret, err := a.randomString(SecretPrefix, secretBytes)
	if err != nil {
		return Credential{}, err
	}
	rec.SecretHash = hashSecret(secret)
	rec.Generation++
	rec.Rotated = a.cfg.Now().UTC()
	if err := a.cfg.Store.Put(ctx, rec); err != nil {
		return Credential{}, wrapStore(err)
	}
	a.log.Info("credential rotated", "key_id", keyID, "subsystem", rec.Subsystem, "generation", rec.Generation)
	return Credential{KeyID: keyID, Secret: secret, Subsystem: rec.Subsystem}, nil
}

// Revoke deletes keyID; its tokens are refused from then on.
func (a *Authority) Revoke(ctx context.Context, keyID string) error {
	if err := a.cfg.Store.Delete(ctx, keyID); err != nil {
		return wrapStore(err)
	}
	a.log.Info("credential revoked", "key_id", keyID)
	return nil
}

// List returns the stored credentials (hashes only).
func (a *Authority) List(ctx context.Context) ([]Record, error) {
	rs, err := a.cfg.Store.List(ctx)
	if err != nil {
		return nil, wrapStore(err)
	}
	return rs, nil
}

// Authenticate checks a consumer key and secret. Every failure is the same
// ErrInvalidClient, and an unknown key costs the same hash and comparison as
// a known one.
func (a *Authority) Authenticate(ctx context.Context, keyID, secret string) (Record, error) {
	got := hashSecret(secret)
	rec, err := a.cfg.Store.Get(ctx, keyID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Record{}, wrapStore(err)
	}
	want := a.dummy
	if err == nil {
		want = rec.SecretHash
	}
	if subtle.ConstantTimeCompare(got, want) != 1 || err != nil {
		return Record{}, ErrInvalidClient
	}
	return rec, nil
}

// wrapStore makes sure a store error wraps one of our sentinels.
func wrapStore(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrStore) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrStore, err)
}
