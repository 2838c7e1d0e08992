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
	// ThrottleAfter is how many failed token requests in a row, per
	// consumer key and per remote address, start throttling (default 5).
	ThrottleAfter int
	// ThrottleBackoff is the first refusal period once throttled; it
	// doubles with every further failure (default 1 s).
	ThrottleBackoff time.Duration
	// ThrottleMax caps the refusal period (default 5 min).
	ThrottleMax time.Duration
	// ThrottleEntries caps the keys and addresses remembered; the least
	// recently seen is forgotten first (default 10000).
	ThrottleEntries int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Rand supplies key IDs, secrets and token IDs (default crypto/rand).
	Rand io.Reader
	// Logger receives events with component=auth (default slog.Default()).
	// Secrets and tokens are never logged.
	Logger *slog.Logger
	// OnFailure, if set, is told of each refused token request: the
	// client's address, and whether it has just become throttled (the
	// node's security events, internal/siem).
	OnFailure func(remote string, throttled bool)
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
	if c.ThrottleAfter == 0 {
		c.ThrottleAfter = DefaultThrottleAfter
	}
	if c.ThrottleBackoff == 0 {
		c.ThrottleBackoff = DefaultThrottleBackoff
	}
	if c.ThrottleMax == 0 {
		c.ThrottleMax = DefaultThrottleMax
	}
	if c.ThrottleEntries == 0 {
		c.ThrottleEntries = DefaultThrottleEntries
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
	case c.ThrottleAfter < 1 || c.ThrottleAfter > 1000:
		return fmt.Errorf("%w: ThrottleAfter %d outside 1..1000", ErrConfig, c.ThrottleAfter)
	case c.ThrottleBackoff < 0 || c.ThrottleMax < c.ThrottleBackoff || c.ThrottleMax > 24*time.Hour:
		return fmt.Errorf("%w: ThrottleBackoff %v and ThrottleMax %v: need 0 < backoff ≤ max ≤ 24h", ErrConfig, c.ThrottleBackoff, c.ThrottleMax)
	case c.ThrottleEntries < 1 || c.ThrottleEntries > 1<<20:
		return fmt.Errorf("%w: ThrottleEntries %d outside 1..1Mi", ErrConfig, c.ThrottleEntries)
	}
	return nil
}
