package node

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/fsutil"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// InitOptions are what Init needs besides the configuration.
type InitOptions struct {
	// Anchor is the network's anchor (copied into the directory).
	Anchor *globalconf.Anchor
	// Organization is the subject O of the certificate requests (the
	// member's name).
	Organization string
	// APIHosts are extra DNS names or IPs for the consumer API's TLS
	// certificate (the host of APIListen, localhost and 127.0.0.1 are
	// always included).
	APIHosts []string
	// SignFrom, if set, is the directory of a node of the same member
	// whose signing key and certificate this node shares (a further node
	// of the member, registered with 'dxl registry node add'). Its sign.key
	// must open with the same passphrase.
	SignFrom string
}

// Files Init writes beside the keys: the two certificate requests.
const (
	FileNodeCSR = "node.csr"
	FileSignCSR = "sign.csr"
)

// InitResult names what Init created.
type InitResult struct {
	Dir     string `json:"dir"`
	PeerID  string `json:"peer_id"`
	NodeCSR string `json:"node_csr_pem"`
	SignCSR string `json:"sign_csr_pem"`
	// APICertSHA256 is the fingerprint of the consumer API's certificate,
	// for information systems to pin.
	APICertSHA256 string `json:"api_cert_sha256"`
}

// Init creates a node directory: an Ed25519 auth key (the libp2p identity),
// an Ed25519 member signing key, the token endpoint's P-256 key, the
// consumer API's TLS key and self-signed certificate, node.json and the
// anchor. Keys are sealed with passphrase. The two certificate requests it
// returns go to the registry in a registration (Register), and Enroll
// stores the certificates once an operator approves.
func Init(dir string, cfg Config, opts InitOptions, passphrase []byte) (*InitResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Anchor == nil {
		return nil, fmt.Errorf("%w: an anchor is required", ErrConfig)
	}
	if _, err := os.Stat(filepath.Join(dir, FileAuthKey)); err == nil {
		return nil, fmt.Errorf("%w: %s already holds a node", ErrConfig, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	authKey, signKey, tokenKey, apiKey, err := newKeys(opts.SignFrom, passphrase)
	if err != nil {
		return nil, err
	}
	apiCert, err := selfSignedAPICert(apiKey, cfg.APIListen, opts.APIHosts)
	if err != nil {
		return nil, err
	}
	for _, k := range []struct {
		file string
		key  crypto.Signer
	}{{FileAuthKey, authKey}, {FileSignKey, signKey}, {FileTokenKey, tokenKey}, {FileAPIKey, apiKey}} {
		if err := keystore.WriteFile(filepath.Join(dir, k.file), k.key, passphrase); err != nil {
			return nil, err
		}
	}
	if err := fsutil.WriteNew(filepath.Join(dir, FileAPICert), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: apiCert}), 0o644); err != nil {
		return nil, err
	}
	if err := opts.Anchor.Save(filepath.Join(dir, FileAnchor)); err != nil {
		return nil, err
	}
	if err := SaveConfig(dir, &cfg); err != nil {
		return nil, err
	}
	if opts.SignFrom != "" {
		raw, err := os.ReadFile(filepath.Join(opts.SignFrom, FileSignCert))
		if err != nil {
			return nil, fmt.Errorf("%w: --sign-from: %v", ErrConfig, err)
		}
		if err := InstallCertificates(dir, nil, raw, passphrase); err != nil {
			return nil, err
		}
	}
	res := &InitResult{Dir: dir}
	if res.NodeCSR, res.SignCSR, err = csrs(authKey, signKey, opts.Organization); err != nil {
		return nil, err
	}
	for f, v := range map[string]string{FileNodeCSR: res.NodeCSR, FileSignCSR: res.SignCSR} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o644); err != nil {
			return nil, err
		}
	}
	pid, err := ca.PeerIDFromKey(authKey.Public())
	if err != nil {
		return nil, err
	}
	res.PeerID = pid.String()
	sum := sha256.Sum256(apiCert)
	res.APICertSHA256 = hex.EncodeToString(sum[:])
	return res, nil
}

// newKeys generates the node's keys: authentication (libp2p identity),
// member signing (or the one of the node in signFrom, a replica), token
// signing and the consumer API's TLS key.
func newKeys(signFrom string, passphrase []byte) (authKey ed25519.PrivateKey, signKey crypto.Signer, tokenKey, apiKey *ecdsa.PrivateKey, err error) {
	if _, authKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, nil, nil, nil, err
	}
	if signFrom != "" {
		if signKey, err = keystore.ReadFile(filepath.Join(signFrom, FileSignKey), passphrase); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("%w: --sign-from %s: %v", ErrConfig, signFrom, err)
		}
	} else if _, signKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, nil, nil, nil, err
	}
	if tokenKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, nil, nil, nil, err
	}
	if apiKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, nil, nil, nil, err
	}
	return authKey, signKey, tokenKey, apiKey, nil
}

// CSRs returns the node's two certificate requests again (for a
// registration submitted later than Init).
func CSRs(dir string, organization string, passphrase []byte) (nodeCSR, signCSR string, err error) {
	authKey, err := keystore.ReadFile(filepath.Join(dir, FileAuthKey), passphrase)
	if err != nil {
		return "", "", err
	}
	signKey, err := keystore.ReadFile(filepath.Join(dir, FileSignKey), passphrase)
	if err != nil {
		return "", "", err
	}
	return csrs(authKey, signKey, organization)
}

func csrs(authKey, signKey crypto.Signer, org string) (string, string, error) {
	if org == "" {
		org = "DXL member"
	}
	var out [2]string
	for i, k := range []crypto.Signer{authKey, signKey} {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{Organization: []string{org}}}, k)
		if err != nil {
			return "", "", err
		}
		out[i] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	}
	return out[0], out[1], nil
}

func selfSignedAPICert(key *ecdsa.PrivateKey, listen string, extra []string) ([]byte, error) {
	hosts := append([]string{"localhost", "127.0.0.1", "::1"}, extra...)
	if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && h != "0.0.0.0" && h != "::" {
		hosts = append(hosts, h)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, new(big.Int).Lsh(big.NewInt(1), 127)),
		Subject:               pkix.Name{CommonName: "DXL node consumer API"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(2, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // self-signed: it is its own trust anchor for curl --cacert
		MaxPathLenZero:        true,
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
}

// Enrollment is what Register leaves in the directory.
type Enrollment struct {
	RequestID string `json:"request_id"`
	Member    string `json:"member"`
}

// SaveEnrollment records the registration request ID.
func SaveEnrollment(dir string, e Enrollment) error {
	raw, _ := json.MarshalIndent(e, "", "  ")
	return os.WriteFile(filepath.Join(dir, FileEnrollment), append(raw, '\n'), 0o600)
}

// LoadEnrollment reads the registration request ID.
func LoadEnrollment(dir string) (Enrollment, error) {
	var e Enrollment
	raw, err := os.ReadFile(filepath.Join(dir, FileEnrollment))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return e, fmt.Errorf("%w: no registration submitted from %s", ErrNotEnrolled, dir)
		}
		return e, err
	}
	return e, json.Unmarshal(raw, &e)
}

// InstallCertificates checks that the node-auth and member-sign chains
// (PEM, leaf first) certify the directory's keys and writes them; a nil
// chain is skipped.
func InstallCertificates(dir string, nodePEM, signPEM []byte, passphrase []byte) error {
	for _, c := range []struct {
		keyFile, certFile string
		chain             []byte
	}{{FileAuthKey, FileAuthCert, nodePEM}, {FileSignKey, FileSignCert, signPEM}} {
		if c.chain == nil {
			continue
		}
		key, err := keystore.ReadFile(filepath.Join(dir, c.keyFile), passphrase)
		if err != nil {
			return err
		}
		certs, err := parseCerts(c.chain)
		if err != nil {
			return err
		}
		if !publicKeyEqual(certs[0].PublicKey, key.Public()) {
			return fmt.Errorf("%w: %s does not certify %s", ErrConfig, c.certFile, c.keyFile)
		}
		if err := os.WriteFile(filepath.Join(dir, c.certFile), c.chain, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

func parseCerts(p []byte) ([]*x509.Certificate, error) {
	certs, err := ca.ParseCertificates(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return certs, nil
}

// identity is a node's key material, loaded by Open.
type identity struct {
	authKey   ed25519.PrivateKey
	signer    crypto.Signer
	signChain []*x509.Certificate
	tokenKey  *ecdsa.PrivateKey
	apiCert   tls.Certificate
}

func loadIdentity(dir string, passphrase []byte) (*identity, error) {
	id := &identity{}
	k, err := keystore.ReadFile(filepath.Join(dir, FileAuthKey), passphrase)
	if err != nil {
		return nil, err
	}
	var ok bool
	if id.authKey, ok = k.(ed25519.PrivateKey); !ok {
		return nil, fmt.Errorf("%w: %s is not an Ed25519 key", ErrConfig, FileAuthKey)
	}
	if id.signer, err = keystore.ReadFile(filepath.Join(dir, FileSignKey), passphrase); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileSignCert))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s missing; run 'dxl node enroll' once the registration is approved", ErrNotEnrolled, FileSignCert)
	} else if err != nil {
		return nil, err
	}
	if id.signChain, err = parseCerts(raw); err != nil {
		return nil, err
	}
	if tk, err := keystore.ReadFile(filepath.Join(dir, FileTokenKey), passphrase); err != nil {
		return nil, err
	} else if id.tokenKey, ok = tk.(*ecdsa.PrivateKey); !ok {
		return nil, fmt.Errorf("%w: %s is not a P-256 key", ErrConfig, FileTokenKey)
	}
	apiKey, err := keystore.ReadFile(filepath.Join(dir, FileAPIKey), passphrase)
	if err != nil {
		return nil, err
	}
	apiPEM, err := os.ReadFile(filepath.Join(dir, FileAPICert))
	if err != nil {
		return nil, err
	}
	apiCerts, err := parseCerts(apiPEM)
	if err != nil {
		return nil, err
	}
	id.apiCert = tls.Certificate{PrivateKey: apiKey, Leaf: apiCerts[0]}
	for _, c := range apiCerts {
		id.apiCert.Certificate = append(id.apiCert.Certificate, c.Raw)
	}
	return id, nil
}

// logKeys returns the AES-256 keys of the message log, one for archived
// bodies and one sealing records: derived (HKDF-SHA256) from an Ed25519
// seed kept sealed in DIR/archive.key, created on first use.
func logKeys(dir string, passphrase []byte) (archive, seal []byte, err error) {
	path := filepath.Join(dir, FileArchiveKey)
	k, err := keystore.ReadFile(path, passphrase)
	if errors.Is(err, fs.ErrNotExist) {
		_, nk, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, nil, gerr
		}
		if err = keystore.WriteFile(path, nk, passphrase); err != nil {
			return nil, nil, err
		}
		k, err = keystore.ReadFile(path, passphrase)
	}
	if err != nil {
		return nil, nil, err
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s is not an Ed25519 seed", ErrConfig, FileArchiveKey)
	}
	if archive, err = hkdf.Key(sha256.New, ek.Seed(), nil, "DXL-BODY-ARCHIVE-v1", 32); err != nil {
		return nil, nil, err
	}
	seal, err = hkdf.Key(sha256.New, ek.Seed(), nil, "DXL-MSGLOG-RECORD-SEAL-v1", 32)
	return archive, seal, err
}
