package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.step.sm/crypto/jose"
)

// Token is a freshly issued access token.
type Token struct {
	AccessToken string
	Expires     time.Time
	Lifetime    time.Duration
}

// Principal is the authenticated information system behind a token.
type Principal struct {
	Subsystem string    // INSTANCE/CLASS/MEMBER/SUBSYSTEM
	KeyID     string    // consumer key the token was issued to
	Expires   time.Time // token expiry
}

type dxlClaims struct {
	KeyID      string `json:"dxl_kid"`
	Generation uint64 `json:"dxl_gen"`
}

// Issue authenticates keyID/secret and returns a signed access token.
func (a *Authority) Issue(ctx context.Context, keyID, secret string) (Token, error) {
	rec, err := a.Authenticate(ctx, keyID, secret)
	if err != nil {
		return Token{}, err
	}
	return a.issueFor(rec)
}

func (a *Authority) issueFor(rec Record) (Token, error) {
	jti, err := a.random(16)
	if err != nil {
		return Token{}, err
	}
	now := a.cfg.Now().Truncate(time.Second)
	exp := now.Add(a.cfg.TokenLifetime)
	std := jose.Claims{
		Issuer:    a.cfg.NodeID,
		Subject:   rec.Subsystem,
		Audience:  jose.Audience{a.cfg.NodeID},
		IssuedAt:  jose.NewNumericDate(now),
		NotBefore: jose.NewNumericDate(now),
		Expiry:    jose.NewNumericDate(exp),
		ID:        strings.ToLower(b32.EncodeToString(jti)),
	}
	tok, err := jose.Signed(a.signer).Claims(std).
		Claims(dxlClaims{KeyID: rec.KeyID, Generation: rec.Generation}).Serialize()
	if err != nil {
		return Token{}, fmt.Errorf("auth: sign token: %w", err)
	}
	a.log.Info("token issued", "key_id", rec.KeyID, "subsystem", rec.Subsystem, "expires", exp.UTC())
	return Token{AccessToken: tok, Expires: exp, Lifetime: a.cfg.TokenLifetime}, nil
}

// compactJWS reports whether s looks like a compact JWS: three base64url
// segments, nothing else (no JSON serialization, no whitespace).
func compactJWS(s string) bool {
	dots := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			dots++
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}

// Verify checks an access token and returns its principal. Only ES256
// tokens signed by this node's key, for this node, within their validity
// window (± Leeway) and whose credential is still current are accepted.
func (a *Authority) Verify(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrMissingToken
	}
	if len(token) > MaxTokenBytes || !compactJWS(token) {
		return Principal{}, fmt.Errorf("%w: not a compact JWS", ErrInvalidToken)
	}
	parsed, err := jose.ParseSigned(token)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: parse: %w", ErrInvalidToken, err)
	}
	if len(parsed.Headers) != 1 || parsed.Headers[0].Algorithm != string(jose.ES256) {
		return Principal{}, fmt.Errorf("%w: algorithm not ES256", ErrInvalidToken)
	}
	var std jose.Claims
	var dxl dxlClaims
	if err := jose.Verify(parsed, &a.cfg.Key.PublicKey, &std, &dxl); err != nil {
		return Principal{}, fmt.Errorf("%w: signature: %w", ErrInvalidToken, err)
	}
	if std.Expiry == nil || std.NotBefore == nil || std.IssuedAt == nil || std.Subject == "" ||
		dxl.KeyID == "" || dxl.Generation == 0 {
		return Principal{}, fmt.Errorf("%w: required claim missing", ErrInvalidToken)
	}
	err = std.ValidateWithLeeway(jose.Expected{
		Issuer:      a.cfg.NodeID,
		AnyAudience: jose.Audience{a.cfg.NodeID},
		Time:        a.cfg.Now(),
	}, a.cfg.Leeway)
	switch {
	case errors.Is(err, jose.ErrExpired), errors.Is(err, jose.ErrNotValidYet), errors.Is(err, jose.ErrIssuedInTheFuture):
		return Principal{}, fmt.Errorf("%w: %w", ErrExpired, err)
	case err != nil:
		return Principal{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	rec, err := a.cfg.Store.Get(ctx, dxl.KeyID)
	switch {
	case errors.Is(err, ErrNotFound):
		return Principal{}, fmt.Errorf("%w: key %s", ErrRevoked, dxl.KeyID)
	case err != nil:
		return Principal{}, wrapStore(err)
	case rec.Generation != dxl.Generation:
		return Principal{}, fmt.Errorf("%w: key %s rotated", ErrRevoked, dxl.KeyID)
	case rec.Subsystem != std.Subject:
		return Principal{}, fmt.Errorf("%w: subject does not match credential", ErrInvalidToken)
	}
	return Principal{Subsystem: std.Subject, KeyID: dxl.KeyID, Expires: std.Expiry.Time()}, nil
}
