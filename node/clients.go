package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dxl-network/dxl/services"
)

// CreateClientCert creates a self-signed TLS client certificate for an
// information system (P-256, one year), writes it to dir/name.pem and its
// unencrypted key to dir/name.key (0600, for curl and the system's own
// HTTPS client), and returns their paths and the certificate's SHA-256.
func CreateClientCert(dir, name string) (certPath, keyPath, sha string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{SerialNumber: serial.Add(serial, big.NewInt(1)), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", "", err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", "", err
	}
	s := sha256.Sum256(der)
	return certPath, keyPath, hex.EncodeToString(s[:]), nil
}

// PinClient pins the TLS client certificate in certFile (PEM) for
// subsystem, one of the node's member, in dir's node.json, with cert_file
// set so the node warns before it expires. A running node reads it at its
// next start.
func PinClient(dir, subsystem, certFile string) (ClientCert, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileConfig))
	if err != nil {
		return ClientCert{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return ClientCert{}, err
	}
	sub, err := services.ParseSubsystemID(subsystem)
	if err != nil {
		return ClientCert{}, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if sub.Member.String() != cfg.Member {
		return ClientCert{}, fmt.Errorf("%w: %s is not a subsystem of %s", ErrClientMismatch, subsystem, cfg.Member)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return ClientCert{}, err
	}
	b, _ := pem.Decode(pemBytes)
	if b == nil || b.Type != "CERTIFICATE" {
		return ClientCert{}, fmt.Errorf("%w: %s holds no PEM certificate", ErrBadRequest, certFile)
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		return ClientCert{}, fmt.Errorf("%w: %s: %v", ErrBadRequest, certFile, err)
	}
	sum := sha256.Sum256(b.Bytes)
	pin := ClientCert{Subsystem: subsystem, CertSHA256: hex.EncodeToString(sum[:]), CertFile: certFile}
	if abs, err := filepath.Abs(certFile); err == nil {
		pin.CertFile = abs
		if absDir, err := filepath.Abs(dir); err == nil {
			if rel, err := filepath.Rel(absDir, abs); err == nil && !strings.HasPrefix(rel, "..") {
				pin.CertFile = rel
			}
		}
	}
	for _, c := range cfg.Clients {
		if strings.EqualFold(c.CertSHA256, pin.CertSHA256) {
			return ClientCert{}, fmt.Errorf("%w: this certificate is already pinned for %s", ErrBadRequest, c.Subsystem)
		}
	}
	cfg.Clients = append(cfg.Clients, pin)
	return pin, SaveConfig(dir, cfg)
}
