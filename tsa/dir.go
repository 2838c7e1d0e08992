package tsa

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dxl-network/dxl/internal/keystore"
)

// Files of a TSA directory.
const (
	KeyFile      = "tsa.key"  // private key sealed with internal/keystore, mode 0600
	CertFile     = "tsa.pem"  // TSA certificate, then its issuers
	SerialFile   = "tsa.db"   // bbolt serial high-water mark (Serials)
	SettingsFile = "tsa.json" // Settings
)

// CommonName is the subject CN of the TSA's certificate request.
const CommonName = "DXL Time-Stamping Authority"

// Settings is the content of tsa.json.
type Settings struct {
	// Policy is the dotted policy OID; empty means DefaultPolicy. Every arc
	// must fit in 31 bits (ParsePolicy), so 2.25.<UUID> OIDs are refused.
	Policy   string `json:"policy"`
	Accuracy string `json:"accuracy"` // Go duration, e.g. "1s"
}

// IssueFunc turns a DER certificate request into a certificate chain,
// TSA certificate first. It is how Init reaches the CA.
type IssueFunc func(ctx context.Context, csrDER []byte) ([]*x509.Certificate, error)

// Init creates a TSA in dir: it generates a P-256 key, has issue certify
// a request for CommonName (with the critical timeStamping extended key
// usage asked for), checks that the returned certificate holds the key
// and may time-stamp, and writes tsa.key, tsa.pem, tsa.json and tsa.db.
// tsa.json gets DefaultAccuracy and the policy set with WithTSAPolicy,
// else DefaultPolicy; the policy is checked (ParsePolicy's rules) before
// anything is created. It refuses a dir that already has a key
// (ErrExists). An existing tsa.db is kept, so serials never restart.
func Init(ctx context.Context, dir string, passphrase []byte, issue IssueFunc, opts ...Option) error {
	if len(passphrase) == 0 {
		return keystore.ErrEmptyPassphrase
	}
	var cfg Config
	for _, o := range opts {
		o(&cfg)
	}
	cfg = cfg.withDefaults()
	if err := checkPolicy(cfg.Policy); err != nil {
		return err
	}
	keyPath := filepath.Join(dir, KeyFile)
	if _, err := os.Stat(keyPath); err == nil {
		return fmt.Errorf("%w: %s", ErrExists, keyPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("tsa: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tsa: %w", err)
	}
	key, err := keystore.GenerateKey()
	if err != nil {
		return err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:         pkix.Name{CommonName: CommonName},
		ExtraExtensions: []pkix.Extension{TimeStampingExtension()},
	}, key)
	if err != nil {
		return fmt.Errorf("tsa: certificate request: %w", err)
	}
	chain, err := issue(ctx, csr)
	if err != nil {
		return fmt.Errorf("tsa: issuing TSA certificate: %w", err)
	}
	cfg.Signer, cfg.Chain = key, chain
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("tsa: certificate from CA unusable: %w", err)
	}

	// The key goes first, with O_EXCL: it claims the directory.
	if err := keystore.WriteFile(keyPath, key, passphrase); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, keyPath)
		}
		return err
	}
	settings, _ := json.MarshalIndent(Settings{Policy: cfg.Policy.String(), Accuracy: cfg.Accuracy.String()}, "", "  ")
	err = writeFileAtomic(filepath.Join(dir, CertFile), encodeCerts(chain), 0o644)
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, SettingsFile), append(settings, '\n'), 0o644)
	}
	if err == nil {
		var s *Serials
		if s, err = OpenSerials(filepath.Join(dir, SerialFile), 0); err == nil {
			err = s.Close()
		}
	}
	if err != nil {
		os.Remove(keyPath)
		os.Remove(filepath.Join(dir, CertFile))
		os.Remove(filepath.Join(dir, SettingsFile))
		return fmt.Errorf("tsa: writing %s: %w", dir, err)
	}
	return nil
}

// Option adjusts the Config that Open builds.
type Option func(*Config)

// WithLogger sets Config.Logger.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// WithClock sets Config.Clock.
func WithClock(clock func() time.Time) Option { return func(c *Config) { c.Clock = clock } }

// WithTSAPolicy sets Config.Policy: for Init, the policy written to
// tsa.json; for Open, one that overrides tsa.json.
func WithTSAPolicy(policy asn1.ObjectIdentifier) Option { return func(c *Config) { c.Policy = policy } }

// Open loads the TSA in dir. The returned Closer closes the serial store;
// close it after the HTTP server has stopped.
func Open(dir string, passphrase []byte, opts ...Option) (*Authority, io.Closer, error) {
	settings, err := ReadSettings(dir)
	if err != nil {
		return nil, nil, err
	}
	cfg := Config{}
	if settings.Policy != "" {
		if cfg.Policy, err = ParsePolicy(settings.Policy); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", SettingsFile, err)
		}
	}
	if settings.Accuracy != "" {
		if cfg.Accuracy, err = time.ParseDuration(settings.Accuracy); err != nil || cfg.Accuracy <= 0 {
			return nil, nil, fmt.Errorf("%w: %s: accuracy %q", ErrConfig, SettingsFile, settings.Accuracy)
		}
	}
	if cfg.Signer, err = keystore.ReadFile(filepath.Join(dir, KeyFile), passphrase); err != nil {
		return nil, nil, err
	}
	if cfg.Chain, err = LoadCertificates(filepath.Join(dir, CertFile)); err != nil {
		return nil, nil, err
	}
	for _, o := range opts {
		o(&cfg)
	}
	serials, err := OpenSerials(filepath.Join(dir, SerialFile), 0)
	if err != nil {
		return nil, nil, err
	}
	a, err := New(cfg, serials)
	if err != nil {
		serials.Close()
		return nil, nil, err
	}
	return a, serials, nil
}

// ReadSettings reads tsa.json from dir.
func ReadSettings(dir string) (Settings, error) {
	var s Settings
	data, err := os.ReadFile(filepath.Join(dir, SettingsFile))
	if err != nil {
		return s, fmt.Errorf("tsa: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("%w: %s: %v", ErrConfig, SettingsFile, err)
	}
	return s, nil
}

// LoadCertificates reads every CERTIFICATE block of a PEM file, in order.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tsa: %w", err)
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrConfig, path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: %s holds no certificate", ErrConfig, path)
	}
	return certs, nil
}

func encodeCerts(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
