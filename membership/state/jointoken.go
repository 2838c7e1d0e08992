package state

import (
	"fmt"
	"io"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// Join token limits.
const (
	DefaultJoinTokenTTL = time.Hour
	MaxJoinTokenTTL     = 7 * 24 * time.Hour
	// joinTokenKeep is how long a used or expired token stays in the state
	// (so reuse is reported as such) before create_join_token prunes it.
	joinTokenKeep = 7 * 24 * time.Hour
	// JoinTokenPrefix starts every join token string.
	JoinTokenPrefix = "dxljoin1."
)

// JoinToken is a join token as the replicated state keeps it: never the
// secret, only its SHA-256.
type JoinToken struct {
	SecretSHA256 string     `json:"secret_sha256"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	UsedBy       string     `json:"used_by,omitempty"` // the server ID that joined with it
	UsedAt       *time.Time `json:"used_at,omitempty"`
}

// Clone returns a deep copy of JoinToken.
func (t JoinToken) Clone() JoinToken {
	if t.UsedAt != nil {
		u := *t.UsedAt
		t.UsedAt = &u
	}
	return t
}

// CreateJoinToken records a new join token (by the SHA-256 of its secret).
type CreateJoinToken struct {
	Header
	SecretSHA256 string    `json:"secret_sha256"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// ConsumeJoinToken uses a join token up for server ServerID.
type ConsumeJoinToken struct {
	Header
	SecretSHA256 string `json:"secret_sha256"`
	ServerID     string `json:"server_id"`
}

func (*CreateJoinToken) Type() CommandType  { return CmdCreateJoinToken }
func (*ConsumeJoinToken) Type() CommandType { return CmdConsumeJoinToken }

func (c *CreateJoinToken) Prepare(io.Reader) error {
	if err := CheckHex256(c.SecretSHA256); err != nil {
		return Invalidf("join token hash: %v", err)
	}
	if c.ExpiresAt.IsZero() || !c.ExpiresAt.After(c.Time) || c.ExpiresAt.Sub(c.Time) > MaxJoinTokenTTL {
		return Invalidf("join token expiry must be after now and within %s", MaxJoinTokenTTL)
	}
	c.ExpiresAt = c.ExpiresAt.UTC()
	return nil
}

func (c *ConsumeJoinToken) Prepare(io.Reader) error {
	if err := CheckHex256(c.SecretSHA256); err != nil {
		return fmt.Errorf("%w: malformed secret", ErrJoinTokenUnknown)
	}
	if err := ident.CheckPart(c.ServerID); err != nil {
		return Invalidf("server ID: %v", err)
	}
	return nil
}

// applyJoin runs the join token commands.
func (s *State) applyJoin(c Command, now time.Time, actor string) (target, detail string, err error) {
	switch c := c.(type) {
	case *CreateJoinToken:
		if _, ok := s.JoinTokens[c.SecretSHA256]; ok {
			return "", "", Invalidf("join token already exists")
		}
		for h, t := range s.JoinTokens { // prune: deterministic, by the command's time
			if now.Sub(t.ExpiresAt) > joinTokenKeep {
				delete(s.JoinTokens, h)
			}
		}
		if s.JoinTokens == nil {
			s.JoinTokens = map[string]JoinToken{}
		}
		s.JoinTokens[c.SecretSHA256] = JoinToken{SecretSHA256: c.SecretSHA256, CreatedBy: actor, CreatedAt: now, ExpiresAt: c.ExpiresAt}
		return c.SecretSHA256[:16], "expires " + c.ExpiresAt.Format(time.RFC3339), nil
	case *ConsumeJoinToken:
		t, ok := s.JoinTokens[c.SecretSHA256]
		switch {
		case !ok:
			return "", "", ErrJoinTokenUnknown
		case t.UsedBy != "":
			return "", "", fmt.Errorf("%w: by %s at %s", ErrJoinTokenUsed, t.UsedBy, t.UsedAt.Format(time.RFC3339))
		case !now.Before(t.ExpiresAt):
			return "", "", fmt.Errorf("%w: at %s", ErrJoinTokenExpired, t.ExpiresAt.Format(time.RFC3339))
		}
		if _, ok := s.RegistryServers[c.ServerID]; ok {
			return "", "", fmt.Errorf("%w: registry server %s exists", ErrIllegalTransition, c.ServerID)
		}
		at := now
		t.UsedBy, t.UsedAt = c.ServerID, &at
		s.JoinTokens[c.SecretSHA256] = t
		return c.ServerID, "join token " + c.SecretSHA256[:16], nil
	}
	return "", "", fmt.Errorf("%w: no handler for %s", ErrBadCommand, c.Type())
}
