package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// RegistryServer is a registry server as the replicated state knows it: the
// base URL of its HTTPS API (where nodes fetch the global configuration and
// followers forward writes) and the SHA-256 fingerprint of the TLS
// certificate it presents (ca.Fingerprint), by which the other servers
// accept it as a forwarding peer. Keyed by the server's Raft ID, so a
// follower maps the leader's ID to its URL from the state.
type RegistryServer struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	CertSHA256 string    `json:"cert_sha256"`
	CertSerial string    `json:"cert_serial,omitempty"` // revoked when the server is removed
	UpdatedAt  time.Time `json:"updated_at"`
}

// Role is what an operator token may do.
type Role string

// Operator roles, each including the ones before it: viewer reads,
// operator also changes members, registrations, services and groups, admin
// also manages policy, operators and registry servers.
const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case RoleViewer:
		return 1
	case RoleOperator:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// Allows reports whether r includes need.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// Operator is a named operator token. Only the SHA-256 of the token is
// kept; the token itself is shown once, when it is created.
type Operator struct {
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	TokenSHA256 string    `json:"token_sha256"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

// SetRegistryServer records (or, with Delete, forgets) a registry server's
// API URL and TLS certificate fingerprint.
type SetRegistryServer struct {
	Header
	ID         string `json:"id"`
	URL        string `json:"url,omitempty"`
	CertSHA256 string `json:"cert_sha256,omitempty"`
	CertSerial string `json:"cert_serial,omitempty"` // lower-case hex, as ca.SerialHex
	Delete     bool   `json:"delete,omitempty"`
}

// AddOperator adds an operator token (by its SHA-256) under a unique name.
type AddOperator struct {
	Header
	Name        string `json:"name"`
	Role        Role   `json:"role"`
	TokenSHA256 string `json:"token_sha256"`
}

// RemoveOperator revokes an operator token.
type RemoveOperator struct {
	Header
	Name string `json:"name"`
}

func (*SetRegistryServer) Type() CommandType { return CmdSetRegistryServer }
func (*AddOperator) Type() CommandType       { return CmdAddOperator }
func (*RemoveOperator) Type() CommandType    { return CmdRemoveOperator }

func (c *SetRegistryServer) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.ID); err != nil {
		return Invalidf("server ID: %v", err)
	}
	if c.Delete {
		return nil
	}
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || len(c.URL) > 512 {
		return Invalidf("server URL %q: want http(s)://host[:port][/path]", c.URL)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if err := CheckHex256(c.CertSHA256); err != nil {
		return Invalidf("certificate fingerprint: %v", err)
	}
	if c.CertSerial != "" {
		if len(c.CertSerial) > 40 || strings.Trim(c.CertSerial, "0123456789abcdef") != "" {
			return Invalidf("certificate serial %q: want lower-case hex", c.CertSerial)
		}
	}
	return nil
}

func (c *AddOperator) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.Name); err != nil {
		return Invalidf("operator name: %v", err)
	}
	if c.Role.rank() == 0 {
		return Invalidf("role %q: want viewer, operator or admin", c.Role)
	}
	if err := CheckHex256(c.TokenSHA256); err != nil {
		return Invalidf("token hash: %v", err)
	}
	return nil
}

func (c *RemoveOperator) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.Name); err != nil {
		return Invalidf("operator name: %v", err)
	}
	return nil
}

// CheckHex256 checks h is 64 lower-case hex digits.
func CheckHex256(h string) error {
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return fmt.Errorf("want 64 lower-case hex digits (SHA-256)")
	}
	return nil
}

// applyAdmin runs the registry administration commands.
func (s *State) applyAdmin(c Command, now time.Time, actor string) (target, detail string, err error) {
	switch c := c.(type) {
	case *SetRegistryServer:
		if c.Delete {
			rs, ok := s.RegistryServers[c.ID]
			if !ok {
				return "", "", fmt.Errorf("%w: registry server %s", ErrInvalidArgument, c.ID)
			}
			delete(s.RegistryServers, c.ID)
			if rs.CertSerial == "" {
				return c.ID, "registry server removed", nil
			}
			// Its certificate goes: every CA revokes it (CASync), the global
			// configuration lists it and Raft refuses it as a peer.
			s.revoke(rs.CertSerial, "cessationOfOperation", "", "", now)
			return c.ID, "registry server removed, certificate " + rs.CertSerial + " revoked", nil
		}
		for id, rs := range s.RegistryServers {
			if id != c.ID && rs.CertSHA256 == c.CertSHA256 {
				return "", "", fmt.Errorf("%w: certificate already names registry server %s", ErrInvalidArgument, id)
			}
		}
		if s.RegistryServers == nil {
			s.RegistryServers = map[string]RegistryServer{}
		}
		s.RegistryServers[c.ID] = RegistryServer{ID: c.ID, URL: c.URL, CertSHA256: c.CertSHA256, CertSerial: c.CertSerial, UpdatedAt: now}
		return c.ID, c.URL, nil
	case *AddOperator:
		if _, ok := s.Operators[c.Name]; ok {
			return "", "", fmt.Errorf("%w: operator %s exists", ErrIllegalTransition, c.Name)
		}
		for _, op := range s.Operators {
			if op.TokenSHA256 == c.TokenSHA256 {
				return "", "", fmt.Errorf("%w: token already in use", ErrInvalidArgument)
			}
		}
		if s.Operators == nil {
			s.Operators = map[string]Operator{}
		}
		s.Operators[c.Name] = Operator{Name: c.Name, Role: c.Role, TokenSHA256: c.TokenSHA256, CreatedAt: now, CreatedBy: actor}
		return c.Name, "role " + string(c.Role), nil
	case *RemoveOperator:
		if _, ok := s.Operators[c.Name]; !ok {
			return "", "", fmt.Errorf("%w: operator %s", ErrUnknownOperator, c.Name)
		}
		delete(s.Operators, c.Name)
		return c.Name, "", nil
	}
	return "", "", fmt.Errorf("%w: no handler for %s", ErrBadCommand, c.Type())
}

// TokenHash is the SHA-256 (hex) of an operator or join token: the only
// form of it the state keeps.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
