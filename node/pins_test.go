package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/testutil"
)

// writePin writes a client certificate valid until notAfter into dir and
// returns its pin.
func writePin(t *testing.T, dir, sub, name string, notAfter time.Time) ClientCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: notAfter.AddDate(-1, 0, 0), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return ClientCert{Subsystem: sub, CertSHA256: hex.EncodeToString(sum[:]), CertFile: name + ".pem"}
}

// TestExpiringPins: a pinned certificate expiring within the warning
// period is listed with its date, one far from expiry is not, nor a pin
// without cert_file; a cert_file that is not the pinned certificate is
// listed with an error.
func TestExpiringPins(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	soon := writePin(t, dir, "VN/GOV/A/SOON", "soon", now.Add(10*24*time.Hour))
	later := writePin(t, dir, "VN/GOV/A/LATER", "later", now.AddDate(1, 0, 0))
	gone := writePin(t, dir, "VN/GOV/A/GONE", "gone", now.Add(-time.Hour))
	wrong := later
	wrong.Subsystem, wrong.CertSHA256 = "VN/GOV/A/WRONG", strings.Repeat("ab", 32)
	unfiled := ClientCert{Subsystem: "VN/GOV/A/NOFILE", CertSHA256: soon.CertSHA256}
	got := ExpiringPins(dir, []ClientCert{soon, later, gone, wrong, unfiled}, now)
	if len(got) != 3 || got[0].Subsystem != soon.Subsystem || !got[0].NotAfter.Equal(now.Add(10*24*time.Hour)) ||
		got[1].Subsystem != gone.Subsystem || got[1].NotAfter.IsZero() || got[2].Subsystem != wrong.Subsystem || got[2].Error == "" {
		t.Fatalf("%+v", got)
	}
}

// TestWatchPinsWarnsAtStart: the watcher logs a warning for an expiring
// pin as soon as it starts, without waiting for its first interval.
func TestWatchPinsWarnsAtStart(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	pins := []ClientCert{writePin(t, dir, "VN/GOV/A/SOON", "soon", now.Add(5*24*time.Hour))}
	var buf testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchPins(ctx, log, func() []PinExpiry { return ExpiringPins(dir, pins, now) }, func() time.Time { return now }, time.Hour)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "subsystem=VN/GOV/A/SOON") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning logged: %q", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if s := buf.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "expires soon") || !strings.Contains(s, "expires_in=120h0m0s") {
		t.Fatalf("warning: %q", s)
	}
}
