package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Defaults applied by Config.withDefaults.
const (
	DefaultTokenLifetime = time.Hour
	DefaultLeeway        = 30 * time.Second
	DefaultMaxBodyBytes  = 4 << 10
	// MaxTokenBytes is the longest bearer token Verify will parse.
	MaxTokenBytes = 4 << 10
)

// Config configures an Authority.
type Config struct {
	// NodeID names this node; it is the iss and aud of every token. Required.
	NodeID string
	// Key signs tokens with ES256; it must be an ECDSA P-256 key. Required.
	Key *ecdsa.PrivateKey
	// Store holds the hashed credentials. Required.
	Store Store
	// TokenLifetime is the access-token lifetime (default 1 h, max 24 h).
	TokenLifetime time.Duration
	// Leeway is the clock-skew allowance on nbf/exp/iat (default 30 s, max 5 min).
	Leeway time.Duration
	// MaxBodyBytes caps a token request body (default 4 KiB).
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand supplies key IDs, secrets and token IDs (default crypto/rand).
	Rand io.Reader
	// Logger receives events with component=auth (default slog.Default()).
	// Secrets and tokens are never logged.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.TokenLifetime == 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.Leeway == 0 {
		c.Leeway = DefaultLeeway
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports whether c, after defaults, is usable.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.NodeID == "":
		return fmt.Errorf("%w: NodeID is required", ErrConfig)
	case c.Key == nil:
		return fmt.Errorf("%w: Key is required", ErrConfig)
	case c.Key.Curve != elliptic.P256():
		return fmt.Errorf("%w: Key must be ECDSA P-256 (ES256)", ErrConfig)
	case c.Store == nil:
		return fmt.Errorf("%w: Store is required", ErrConfig)
	case c.TokenLifetime < time.Minute || c.TokenLifetime > 24*time.Hour:
		return fmt.Errorf("%w: TokenLifetime %v outside 1m..24h", ErrConfig, c.TokenLifetime)
	case c.Leeway < 0 || c.Leeway > 5*time.Minute:
		return fmt.Errorf("%w: Leeway %v outside 0..5m", ErrConfig, c.Leeway)
	case c.MaxBodyBytes < 256 || c.MaxBodyBytes > 1<<20:
		return fmt.Errorf("%w: MaxBodyBytes %d outside 256..1MiB", ErrConfig, c.MaxBodyBytes)
	}
	return nil
}
