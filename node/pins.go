package node

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PinWarning is how long before a pinned client certificate expires the
// node starts warning; pinCheckEvery how often it looks again.
const (
	PinWarning    = 30 * 24 * time.Hour
	pinCheckEvery = 24 * time.Hour
)

// PinExpiry is a pinned client certificate that expires within
// PinWarning (or has expired), or a pin whose cert_file cannot be read or
// is not the pinned certificate (Error).
type PinExpiry struct {
	Subsystem  string    `json:"subsystem"`
	CertSHA256 string    `json:"cert_sha256"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	Error      string    `json:"error,omitempty"`
}

// ExpiringPins checks the pins of node.json that name their certificate
// (cert_file, relative to dir) at now: those expiring within PinWarning,
// or whose file is unusable. Pins without a cert_file are not known until
// their information system connects, and are left out.
func ExpiringPins(dir string, pins []ClientCert, now time.Time) []PinExpiry {
	var out []PinExpiry
	for _, p := range pins {
		if p.CertFile == "" {
			continue
		}
		e := PinExpiry{Subsystem: p.Subsystem, CertSHA256: p.CertSHA256}
		cert, err := pinnedCert(dir, p)
		switch {
		case err != nil:
			e.Error = err.Error()
		case now.Add(PinWarning).Before(cert.NotAfter):
			continue
		default:
			e.NotAfter = cert.NotAfter
		}
		out = append(out, e)
	}
	return out
}

// pinnedCert reads p's cert_file and checks it is the pinned certificate.
func pinnedCert(dir string, p ClientCert) (*x509.Certificate, error) {
	file := p.CertFile
	if !filepath.IsAbs(file) {
		file = filepath.Join(dir, file)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New(p.CertFile + ": no PEM certificate")
	}
	if sum := sha256.Sum256(b.Bytes); !strings.EqualFold(hex.EncodeToString(sum[:]), p.CertSHA256) {
		return nil, errors.New(p.CertFile + ": not the pinned certificate (its SHA-256 differs from cert_sha256)")
	}
	return x509.ParseCertificate(b.Bytes)
}

// ExpiringPins checks the node's pinned client certificates now.
func (n *Node) ExpiringPins() []PinExpiry { return ExpiringPins(n.dir, n.cfg.Clients, n.now()) }

// pinLoop warns about expiring pins at start and every pinCheckEvery.
func (n *Node) pinLoop(ctx context.Context) {
	watchPins(ctx, n.log, n.ExpiringPins, n.now, pinCheckEvery)
}

// watchPins logs one warning per expiring or unusable pin that check
// reports, at once and then every interval until ctx ends.
func watchPins(ctx context.Context, log *slog.Logger, check func() []PinExpiry, now func() time.Time, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for _, e := range check() {
			if e.Error != "" {
				log.Warn("pinned client certificate unusable: cannot tell when it expires", "subsystem", e.Subsystem,
					"cert_sha256", e.CertSHA256, "error", e.Error)
				continue
			}
			log.Warn("pinned client certificate expires soon: issue a new one and update its pin in node.json",
				"subsystem", e.Subsystem, "cert_sha256", e.CertSHA256, "not_after", e.NotAfter.UTC().Format(time.RFC3339),
				"expires_in", e.NotAfter.Sub(now()).Round(time.Hour).String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
