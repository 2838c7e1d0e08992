package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Config configures logins and sessions of one console.
type Config struct {
	// IdleTimeout ends a session unused that long (default 15 min);
	// AbsoluteTimeout ends any session that long after login (default 8 h).
	IdleTimeout     Duration `json:"idle_timeout,omitzero"`
	AbsoluteTimeout Duration `json:"absolute_timeout,omitzero"`
	// MaxFailures failed logins in a row lock the account for
	// LockoutBase, doubling with every further failure up to LockoutMax
	// (defaults 5, 1 min, 1 h).
	MaxFailures int      `json:"max_failures,omitzero"`
	LockoutBase Duration `json:"lockout_base,omitzero"`
	LockoutMax  Duration `json:"lockout_max,omitzero"`
	// MaxSessions caps the live sessions of the process (default 1,000):
	// a login beyond it ends the oldest.
	MaxSessions int `json:"max_sessions,omitzero"`
}

// Duration is a time.Duration written as "15m" in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	def(&c.IdleTimeout, 15*time.Minute)
	def(&c.AbsoluteTimeout, 8*time.Hour)
	def(&c.LockoutBase, time.Minute)
	def(&c.LockoutMax, time.Hour)
	if c.MaxFailures == 0 {
		c.MaxFailures = 5
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 1000
	}
	return c
}

// Validate reports whether c, after defaults, is usable.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.IdleTimeout < Duration(time.Minute) || c.AbsoluteTimeout < c.IdleTimeout || c.AbsoluteTimeout > Duration(24*time.Hour):
		return fmt.Errorf("%w: idle_timeout %v must be at least 1m and absolute_timeout %v between it and 24h",
			ErrConfig, time.Duration(c.IdleTimeout), time.Duration(c.AbsoluteTimeout))
	case c.MaxFailures < 1 || c.MaxFailures > 20:
		return fmt.Errorf("%w: max_failures %d: want 1..20", ErrConfig, c.MaxFailures)
	case c.LockoutBase < Duration(time.Second) || c.LockoutMax < c.LockoutBase:
		return fmt.Errorf("%w: lockout_base %v must be at least 1s and lockout_max %v at least lockout_base",
			ErrConfig, time.Duration(c.LockoutBase), time.Duration(c.LockoutMax))
	case c.MaxSessions < 1:
		return fmt.Errorf("%w: max_sessions %d", ErrConfig, c.MaxSessions)
	}
	return nil
}

// LockedError is ErrLocked with the time the lockout ends.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v until %s", ErrLocked, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Auth checks logins against Accounts and holds the sessions of one
// console process.
type Auth struct {
	cfg       Config
	accounts  *Accounts
	mfaRoles  []string
	now       func() time.Time
	rand      io.Reader
	log       *slog.Logger
	dummyOnce sync.Once
	dummy     string // a hash to verify against for an unknown account

	mu       sync.Mutex
	sessions map[[32]byte]*Session
}

// AuthOption configures NewAuth.
type AuthOption func(*Auth)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) AuthOption { return func(a *Auth) { a.now = now } }

// WithRand sets the source of session tokens (tests).
func WithRand(r io.Reader) AuthOption { return func(a *Auth) { a.rand = r } }

// WithLogger sets the logger; it gets a component attribute.
func WithLogger(l *slog.Logger) AuthOption { return func(a *Auth) { a.log = l } }

// NewAuth checks logins against accounts; an account of a role in mfaRoles
// must have a TOTP second factor to log in.
func NewAuth(cfg Config, accounts *Accounts, mfaRoles []string, opts ...AuthOption) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Auth{cfg: cfg.WithDefaults(), accounts: accounts, mfaRoles: mfaRoles, now: time.Now, rand: rand.Reader,
		log: slog.Default(), sessions: map[[32]byte]*Session{}}
	for _, o := range opts {
		o(a)
	}
	a.log = a.log.With("component", "console_auth")
	return a, nil
}

// Accounts returns the account file.
func (a *Auth) Accounts() *Accounts { return a.accounts }

// NeedsMFA reports whether role must log in with a second factor.
func (a *Auth) NeedsMFA(role string) bool { return slices.Contains(a.mfaRoles, role) }

// Login checks name, password and TOTP code and opens a session. Every
// refusal is ErrBadCredentials (or a *LockedError while the account is
// locked, whatever was sent); a failure counts toward the lockout. remote
// is logged.
func (a *Auth) Login(name, password, code, remote string) (*Session, string, error) {
	now := a.now()
	var acct *Account
	var reason string
	var refused error // the outcome; the transaction commits a failure's count
	err := a.accounts.update(func(b *bolt.Bucket) error {
		var err error
		if acct, err = getAccount(b, name); err != nil {
			a.dummyOnce.Do(func() { a.dummy, _ = HashPassword("not a password", a.accounts.Hash) })
			_, _ = VerifyPassword(a.dummy, password) // the same work as for a real account
			reason, refused = "unknown account", ErrBadCredentials
			return nil
		}
		if now.Before(acct.LockedUntil) {
			reason, refused = "locked", &LockedError{Until: acct.LockedUntil}
			return nil
		}
		step, failure := a.check(acct, password, code, now)
		if failure != "" {
			reason, refused = failure, ErrBadCredentials
			a.fail(acct, now)
			return putAccount(b, acct)
		}
		acct.Failures, acct.LockedUntil, acct.LastLogin = 0, time.Time{}, now.UTC()
		if step != 0 {
			acct.LastTOTPStep = step
		}
		return putAccount(b, acct)
	})
	if err != nil {
		a.log.Error("console login failed", "account", name, "error", err)
		return nil, "", err
	}
	if refused != nil {
		if acct != nil && reason != "locked" && !acct.LockedUntil.IsZero() {
			a.log.Warn("console account locked after failed logins", "account", name, "failures", acct.Failures,
				"locked_until", acct.LockedUntil, "remote", remote)
		}
		a.log.Warn("console login refused", "account", name, "reason", reason, "remote", remote)
		return nil, "", refused
	}
	s, token, err := a.newSession(acct, now)
	if err != nil {
		return nil, "", err
	}
	a.log.Info("console login", "account", name, "role", acct.Role, "remote", remote)
	return s, token, nil
}

// check returns the TOTP step used, or why the login fails.
func (a *Auth) check(acct *Account, password, code string, now time.Time) (int64, string) {
	ok, err := VerifyPassword(acct.PasswordHash, password)
	if err != nil {
		return 0, "stored hash unusable"
	}
	if !ok {
		return 0, "wrong password"
	}
	if acct.TOTPSecret == "" {
		if a.NeedsMFA(acct.Role) {
			return 0, "role requires a second factor and the account has none"
		}
		return 0, ""
	}
	step, ok := checkTOTP(acct.TOTPSecret, code, now, acct.LastTOTPStep)
	if !ok {
		return 0, "wrong or reused TOTP code"
	}
	return step, ""
}

// fail counts a failed login and locks the account from the MaxFailures-th
// on, for LockoutBase doubling up to LockoutMax.
func (a *Auth) fail(acct *Account, now time.Time) {
	acct.Failures++
	if over := acct.Failures - a.cfg.MaxFailures; over >= 0 {
		d := time.Duration(a.cfg.LockoutBase)
		for i := 0; i < over && d < time.Duration(a.cfg.LockoutMax); i++ {
			d *= 2
		}
		acct.LockedUntil = now.Add(min(d, time.Duration(a.cfg.LockoutMax))).UTC()
	}
}

// tokenKey is the map key of a session token: its SHA-256, so the map
// holds no usable token.
func tokenKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

func (a *Auth) randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", fmt.Errorf("webui: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
