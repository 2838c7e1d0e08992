package globalconf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/dxl-network/dxl/internal/ident"
)

// AnchorFile is the conventional name of the anchor file.
const AnchorFile = "anchor.json"

// maxAnchorSize caps an anchor file.
const maxAnchorSize = 1 << 20

// Anchor is what a node is configured with before it knows anything else
// (DESIGN.md §3): the instance, the CA root(s), the registry's
// config-signing certificate(s) and registry server URLs. Everything else
// comes from the signed configuration.
//
// On disk (anchor.json) the certificates are PEM text:
//
//	{"format":1,"instance":"VN-TEST","ca_roots":"-----BEGIN CERTIFICATE-----\n…",
//	 "config_signers":"-----BEGIN CERTIFICATE-----\n…","servers":["https://…"]}
type Anchor struct {
	// Instance is the instance code (VN-TEST, VN).
	Instance string
	// Roots are the CA root certificates the signer (and, for the client,
	// registry servers' TLS certificates) must chain to.
	Roots []*x509.Certificate
	// Signers are the config-signing (registry-config profile)
	// certificates. A configuration is accepted only from one of them; list
	// a standby certificate here before it is needed.
	Signers []*x509.Certificate
	// Servers are registry base URLs (https://host:port); the client adds
	// GlobalConfigPath.
	Servers []string
}

type anchorFile struct {
	Format        int      `json:"format"`
	Instance      string   `json:"instance"`
	CARoots       string   `json:"ca_roots"`
	ConfigSigners string   `json:"config_signers"`
	Servers       []string `json:"servers"`
}

// NewAnchor builds and validates an anchor from one CA root, one
// config-signing certificate and the registry URLs: what a registry's init
// writes for its nodes.
func NewAnchor(instance string, root, signer *x509.Certificate, servers []string) (*Anchor, error) {
	a := &Anchor{Instance: instance, Servers: slices.Clone(servers)}
	if root != nil {
		a.Roots = []*x509.Certificate{root}
	}
	if signer != nil {
		a.Signers = []*x509.Certificate{signer}
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// Validate reports the first problem with a; errors wrap ErrBadAnchor.
// Roots must be self-signed CA certificates; signers must be end-entity
// certificates with an ECDSA, Ed25519 or RSA (2048 bits or more) key whose
// key usage, if present, allows digitalSignature; servers must be
// http(s) URLs (plain http is refused later by the Client unless allowed).
// Whether a signer chains to a root is checked when a configuration is
// verified, with the configuration's CA chain as intermediates.
func (a *Anchor) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadAnchor, fmt.Sprintf(format, args...))
	}
	if err := ident.CheckPart(a.Instance); err != nil {
		return bad("instance: %v", err)
	}
	if len(a.Roots) == 0 {
		return bad("no CA root certificate")
	}
	for _, r := range a.Roots {
		if r == nil || !r.IsCA || !r.BasicConstraintsValid || !bytes.Equal(r.RawSubject, r.RawIssuer) || r.CheckSignatureFrom(r) != nil {
			return bad("CA root %v is not a self-signed CA certificate", subject(r))
		}
	}
	if len(a.Signers) == 0 {
		return bad("no config-signing certificate")
	}
	seen := map[string]bool{}
	for _, s := range a.Signers {
		if s == nil || s.IsCA {
			return bad("config signer %v must be an end-entity certificate", subject(s))
		}
		if s.KeyUsage != 0 && s.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			return bad("config signer %v lacks the digitalSignature key usage", s.Subject)
		}
		switch k := s.PublicKey.(type) {
		case *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return bad("config signer %v has an RSA key under 2048 bits", s.Subject)
			}
		default:
			return bad("config signer %v has an unsupported key type %T", s.Subject, s.PublicKey)
		}
		if fp := fingerprint(s); seen[fp] {
			return bad("config signer %v listed twice", s.Subject)
		} else {
			seen[fp] = true
		}
	}
	if len(a.Servers) == 0 {
		return bad("no registry server URL")
	}
	for i, u := range a.Servers {
		if err := checkURL(u); err != nil {
			return bad("server: %v", err)
		}
		if slices.Contains(a.Servers[:i], u) {
			return bad("server %s listed twice", u)
		}
	}
	return nil
}

func subject(c *x509.Certificate) any {
	if c == nil {
		return "(nil)"
	}
	return c.Subject
}

// IsSigner reports whether c is one of the anchor's config-signing
// certificates, compared by SHA-256 fingerprint of the DER.
func (a *Anchor) IsSigner(c *x509.Certificate) bool {
	fp := fingerprint(c)
	for _, s := range a.Signers {
		if fingerprint(s) == fp {
			return true
		}
	}
	return false
}

// Marshal returns the anchor file contents (indented JSON, PEM strings).
func (a *Anchor) Marshal() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	f := anchorFile{Format: 1, Instance: a.Instance, CARoots: string(pemCerts(a.Roots)),
		ConfigSigners: string(pemCerts(a.Signers)), Servers: a.Servers}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAnchor, err)
	}
	return append(b, '\n'), nil
}

// Save validates a and writes it to path atomically (a temporary file in the
// same directory, fsync, rename), mode 0644: the anchor holds no secret.
func (a *Anchor) Save(path string) error {
	b, err := a.Marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o644)
}

// ParseAnchor reads anchor file contents strictly and validates them.
func ParseAnchor(data []byte) (*Anchor, error) {
	var f anchorFile
	if err := decodeStrict(data, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadAnchor, err)
	}
	if f.Format != 1 {
		return nil, fmt.Errorf("%w: format %d, want 1", ErrBadAnchor, f.Format)
	}
	roots, err := parsePEMCerts([]byte(f.CARoots))
	if err != nil {
		return nil, fmt.Errorf("%w: ca_roots: %v", ErrBadAnchor, err)
	}
	signers, err := parsePEMCerts([]byte(f.ConfigSigners))
	if err != nil {
		return nil, fmt.Errorf("%w: config_signers: %v", ErrBadAnchor, err)
	}
	a := &Anchor{Instance: f.Instance, Roots: roots, Signers: signers, Servers: f.Servers}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// LoadAnchor reads and validates an anchor file.
func LoadAnchor(path string) (*Anchor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAnchor, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAnchorSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadAnchor, path, err)
	}
	if len(data) > maxAnchorSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrBadAnchor, path, maxAnchorSize)
	}
	a, err := ParseAnchor(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func pemCerts(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// parsePEMCerts reads one or more CERTIFICATE blocks and nothing else.
func parsePEMCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("trailing data after the PEM certificates")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return out, nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it,
// renames it over path and syncs the directory, so a reader sees the old
// file or the new one, never a torn write.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("globalconf: %w", err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("globalconf: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("globalconf: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("globalconf: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("globalconf: %w", err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("globalconf: %w", err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
