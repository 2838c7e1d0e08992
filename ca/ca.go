package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.step.sm/crypto/x509util"

	"github.com/dxl-network/dxl/internal/fsutil"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/keystore"
)

// Files in a CA directory.
const (
	FileConfig           = "ca.json"
	FileRoot             = "root.pem"
	FileIntermediate     = "intermediate.pem"
	FileRootKey          = "root.key"
	FileIntermediateKey  = "intermediate.key"
	FileDB               = "ca.db"
	FileSocket           = "ca.sock"
	defaultLeafBackdate  = time.Minute
	crlRegenerateAtRatio = 2 // regenerate a CRL once half its validity has passed
)

// CA is an open certificate authority. It is safe for concurrent use.
type CA struct {
	cfg   Config
	dir   string
	root  *x509.Certificate
	inter *x509.Certificate
	key   crypto.Signer // intermediate key
	db    *store
	now   func() time.Time
	log   *slog.Logger

	mu       sync.Mutex // guards the CRL cache
	crl      []byte
	crlAt    time.Time
	crlStale bool
}

// Option configures a CA.
type Option func(*CA)

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(c *CA) { c.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(c *CA) { c.log = l } }

// IssueRequest asks for one certificate.
type IssueRequest struct {
	// CSR is a PKCS#10 request, PEM or DER (the admin API takes PEM text).
	CSR []byte `json:"-"`
	// Profile selects the certificate profile.
	Profile Profile `json:"profile"`
	// Member is CLASS/CODE or INSTANCE/CLASS/CODE; required for node-auth and
	// member-sign, defaults to the CA's operator for the others.
	Member string `json:"member,omitempty"`
	// Organization is the subject O; defaults to the CSR's O for member
	// profiles and to the operator's organisation for the others.
	Organization string `json:"organization,omitempty"`
	// CommonName is the subject CN; defaults to the CSR's CN, else a
	// profile default (the peer ID for node-auth, the member code for
	// member-sign).
	CommonName string `json:"common_name,omitempty"`
	// PeerID, if set for node-auth, must equal the peer ID of the CSR key.
	PeerID string `json:"peer_id,omitempty"`
	// Validity overrides the profile's default lifetime.
	Validity Duration `json:"validity,omitempty"`
	// DNSNames and IPs are the subject alternative names of a
	// registry-server certificate (refused for every other profile).
	DNSNames []string `json:"dns_names,omitempty"`
	IPs      []net.IP `json:"ip_addresses,omitempty"`
}

// Issued is the result of Issue.
type Issued struct {
	Record
	// Chain is the new certificate, the intermediate and the root.
	Chain []*x509.Certificate `json:"-"`
	// PEM is the new certificate followed by the intermediate.
	PEM string `json:"certificate_pem"`
}

// Init creates a CA in dir: a P-384 root, a P-256 intermediate, their sealed
// keys and an empty database. It refuses a directory that already has a CA.
func Init(dir string, cfg Config, passphrase []byte, opts ...Option) (*CA, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: empty passphrase", ErrBadConfig)
	}
	if _, err := os.Stat(filepath.Join(dir, FileConfig)); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	c := newCA(dir, cfg, opts)
	now := c.now()

	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	interKey, err := keystore.GenerateKey()
	if err != nil {
		return nil, err
	}
	name := func(cn string) x509util.Subject {
		return x509util.Subject{Country: []string{cfg.Country}, Organization: []string{cfg.Organization}, CommonName: cn}
	}
	root, err := c.signCA(name("DXL "+cfg.Instance+" Root CA"), 1, rootKey.Public(), nil, rootKey, now, time.Duration(cfg.RootValidity))
	if err != nil {
		return nil, err
	}
	inter, err := c.signCA(name("DXL "+cfg.Instance+" Issuing CA"), 0, interKey.Public(), root, rootKey, now, time.Duration(cfg.IntermediateValidity))
	if err != nil {
		return nil, err
	}
	cfgJSON, _ := json.MarshalIndent(cfg, "", "  ")
	steps := []func() error{
		func() error { return keystore.WriteFile(filepath.Join(dir, FileRootKey), rootKey, passphrase) },
		func() error { return keystore.WriteFile(filepath.Join(dir, FileIntermediateKey), interKey, passphrase) },
		func() error { return fsutil.WriteNew(filepath.Join(dir, FileRoot), pemCert(root), 0o644) },
		func() error { return fsutil.WriteNew(filepath.Join(dir, FileIntermediate), pemCert(inter), 0o644) },
		func() error { return fsutil.WriteNew(filepath.Join(dir, FileConfig), append(cfgJSON, '\n'), 0o600) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	c.root, c.inter, c.key = root, inter, interKey
	if c.db, err = openStore(filepath.Join(dir, FileDB)); err != nil {
		return nil, err
	}
	c.log.Info("ca initialised", "dir", dir, "instance", cfg.Instance, "root_fingerprint", Fingerprint(root))
	return c, nil
}

// Open loads the CA in dir, decrypting the intermediate key. It fails with
// ErrLocked when another process (usually `dxl ca serve`) holds the database.
func Open(dir string, passphrase []byte, opts ...Option) (*CA, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileConfig))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, dir)
	} else if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadConfig, FileConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := newCA(dir, cfg, opts)
	if c.root, err = readCert(filepath.Join(dir, FileRoot)); err != nil {
		return nil, err
	}
	if c.inter, err = readCert(filepath.Join(dir, FileIntermediate)); err != nil {
		return nil, err
	}
	if c.db, err = openStore(filepath.Join(dir, FileDB)); err != nil {
		return nil, err
	}
	if c.key, err = keystore.ReadFile(filepath.Join(dir, FileIntermediateKey), passphrase); err != nil {
		c.db.close()
		return nil, fmt.Errorf("ca: %w", err)
	}
	return c, nil
}

func newCA(dir string, cfg Config, opts []Option) *CA {
	c := &CA{cfg: cfg, dir: dir, now: time.Now, log: slog.Default(), crlStale: true}
	for _, o := range opts {
		o(c)
	}
	c.log = c.log.With("component", "ca")
	return c
}

// Close releases the database.
func (c *CA) Close() error { return c.db.close() }

// Config returns the CA's settings.
func (c *CA) Config() Config { return c.cfg }

// Root returns the root certificate.
func (c *CA) Root() *x509.Certificate { return c.root }

// Intermediate returns the issuing certificate.
func (c *CA) Intermediate() *x509.Certificate { return c.inter }

func (c *CA) signCA(subject x509util.Subject, maxPathLen int, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer, now time.Time, validity time.Duration) (*x509.Certificate, error) {
	data := x509util.NewTemplateData()
	data.SetSubject(subject)
	data.Set("MaxPathLen", maxPathLen)
	cert, err := x509util.NewCertificateFromX509(&x509.Certificate{PublicKey: pub, Subject: pkix.Name{CommonName: subject.CommonName}},
		x509util.WithTemplate(caTemplate, data))
	if err != nil {
		return nil, fmt.Errorf("ca: CA template: %w", err)
	}
	tmpl := cert.GetCertificate()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-defaultLeafBackdate), now.Add(validity)
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, err
	}
	if parent == nil {
		parent = tmpl
	} else if tmpl.NotAfter.After(parent.NotAfter) {
		tmpl.NotAfter = parent.NotAfter
	}
	return x509util.CreateCertificate(tmpl, parent, pub, signer)
}

// Issue signs a certificate for req under its profile and records it.
func (c *CA) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	spec, ok := profiles[req.Profile]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProfile, req.Profile)
	}
	csr, err := ParseCSR(req.CSR)
	if err != nil {
		return nil, err
	}
	is := &issuance{req: req, spec: spec, csr: csr, rec: Record{Profile: req.Profile}}
	if err := c.resolveMember(is); err != nil {
		return nil, err
	}
	if err := c.resolveNames(is); err != nil {
		return nil, err
	}
	tmpl, err := c.leafTemplate(is)
	if err != nil {
		return nil, err
	}
	cert, err := c.signAndRecord(is, tmpl)
	if err != nil {
		return nil, err
	}
	c.logIssued(&is.rec)
	return &Issued{
		Record: is.rec,
		Chain:  []*x509.Certificate{cert, c.inter, c.root},
		PEM:    string(pemCert(cert)) + string(pemCert(c.inter)),
	}, nil
}

// issuance is one Issue call, filled in step by step.
type issuance struct {
	req  IssueRequest
	spec profileSpec
	csr  *x509.CertificateRequest
	rec  Record

	member ident.Member // zero when the certificate names no member
	org    string       // subject O
	cn     string       // subject CN
	uris   []string     // URI SANs
	now    time.Time    // issuing time
}

// resolveMember parses the request's member, defaulting to the operator
// for the profiles that do not need one.
func (c *CA) resolveMember(is *issuance) error {
	memberStr := is.req.Member
	if memberStr == "" && !is.spec.needsMember {
		memberStr = c.cfg.Operator
	}
	if memberStr != "" {
		member, err := ident.ParseMember(memberStr, c.cfg.Instance)
		if err != nil {
			return fmt.Errorf("%w: member: %v", ErrBadRequest, err)
		}
		is.member, is.rec.Member = member, member.String()
	} else if is.spec.needsMember {
		return fmt.Errorf("%w: profile %s needs a member (CLASS/CODE)", ErrBadRequest, is.req.Profile)
	}
	return nil
}

// resolveNames settles the subject O and CN and the URI SANs, refusing
// SANs outside the registry-server profile and unfit subject attributes.
func (c *CA) resolveNames(is *issuance) error {
	req := is.req
	is.org = firstNonEmpty(req.Organization, first(is.csr.Subject.Organization))
	if !is.spec.needsMember {
		is.org = firstNonEmpty(req.Organization, c.cfg.Organization)
	}
	if is.org == "" {
		return fmt.Errorf("%w: organization is required (flag or CSR subject O)", ErrBadRequest)
	}
	if !is.member.IsZero() {
		is.uris = append(is.uris, URIMemberPrefix+is.member.String())
	}
	is.cn = firstNonEmpty(req.CommonName, is.csr.Subject.CommonName, is.spec.defaultCN)
	if req.Profile != ProfileRegistryServer && len(req.DNSNames)+len(req.IPs) > 0 {
		return fmt.Errorf("%w: DNS names and IP addresses are for the %s profile only", ErrBadRequest, ProfileRegistryServer)
	}
	if err := is.profileNames(); err != nil {
		return err
	}
	for _, s := range []string{is.org, is.cn} {
		if len(s) > 64 || strings.ContainsAny(s, "\x00\n\r") {
			return fmt.Errorf("%w: subject attribute %q too long or has control characters", ErrBadRequest, s)
		}
	}
	return nil
}

// profileNames applies the profile's own naming: the server ID and SANs of
// a registry server, the peer ID of a node, the member code of a signer.
func (is *issuance) profileNames() error {
	req := is.req
	switch req.Profile {
	case ProfileRegistryServer:
		if err := ident.CheckPart(is.cn); err != nil {
			return fmt.Errorf("%w: registry server ID (CN) %q: %v", ErrBadRequest, is.cn, err)
		}
		if err := checkSANs(req.DNSNames, req.IPs); err != nil {
			return err
		}
		is.uris = append(is.uris, URIRegistryServerPrefix+is.cn)
	case ProfileNodeAuth:
		pid, err := PeerIDFromKey(is.csr.PublicKey)
		if err != nil {
			return err
		}
		if req.PeerID != "" && req.PeerID != pid.String() {
			return fmt.Errorf("%w: CSR key has peer ID %s, request names %s", ErrBadRequest, pid, req.PeerID)
		}
		is.rec.PeerID = pid.String()
		is.uris = append(is.uris, URIPeerPrefix+is.rec.PeerID)
		is.cn = firstNonEmpty(req.CommonName, is.rec.PeerID)
	case ProfileMemberSign:
		is.cn = firstNonEmpty(is.cn, is.member.Code)
	}
	return nil
}

// templateData builds the profile template's data: subject, SANs, the
// time-stamping EKU and, with a public URL, the OCSP and CRL locations.
func (c *CA) templateData(is *issuance) x509util.TemplateData {
	subject := x509util.Subject{Country: []string{c.cfg.Country}, Organization: []string{is.org}, CommonName: is.cn}
	if !is.member.IsZero() {
		subject.SerialNumber = is.member.Code
	}
	data := x509util.NewTemplateData()
	data.SetSubject(subject)
	data.Set("URIs", is.uris)
	if len(is.req.DNSNames) > 0 {
		data.Set("DNSNames", is.req.DNSNames)
	}
	if len(is.req.IPs) > 0 {
		ips := make([]string, len(is.req.IPs))
		for i, ip := range is.req.IPs {
			ips[i] = ip.String()
		}
		data.Set("IPAddresses", ips)
	}
	data.Set("TimeStampingEKU", timeStampingEKU)
	if u := strings.TrimRight(c.cfg.PublicURL, "/"); u != "" {
		data.Set("OCSP", []string{u + "/ocsp"})
		data.Set("CRL", []string{u + "/crl"})
	}
	return data
}

// leafTemplate renders the profile template and sets the validity (capped
// at the intermediate's) and a fresh serial.
func (c *CA) leafTemplate(is *issuance) (*x509.Certificate, error) {
	tmpl, err := renderTemplate(is.csr, is.spec.template, c.templateData(is))
	if err != nil {
		return nil, err
	}
	validity := is.spec.validity
	if is.req.Validity > 0 {
		validity = time.Duration(is.req.Validity)
	}
	is.now = c.now()
	tmpl.NotBefore, tmpl.NotAfter = is.now.Add(-defaultLeafBackdate), is.now.Add(validity)
	if tmpl.NotAfter.After(c.inter.NotAfter) {
		tmpl.NotAfter = c.inter.NotAfter
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// signAndRecord signs tmpl with the intermediate key and stores the
// certificate's record.
func (c *CA) signAndRecord(is *issuance, tmpl *x509.Certificate) (*x509.Certificate, error) {
	cert, err := x509util.CreateCertificate(tmpl, c.inter, is.csr.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("ca: sign: %w", err)
	}
	rec := &is.rec
	rec.Serial = SerialHex(cert.SerialNumber)
	rec.Subject = cert.Subject.String()
	rec.NotBefore, rec.NotAfter, rec.IssuedAt = cert.NotBefore, cert.NotAfter, is.now.UTC()
	rec.Fingerprint = Fingerprint(cert)
	rec.Status = StatusValid
	rec.DER = cert.Raw
	if err := c.db.insert(rec); err != nil {
		return nil, err
	}
	return cert, nil
}

// logIssued logs the issue of rec.
func (c *CA) logIssued(rec *Record) {
	attrs := []any{"serial", rec.Serial, "profile", rec.Profile}
	if rec.Member != "" {
		attrs = append(attrs, "member", rec.Member)
	}
	if rec.PeerID != "" {
		attrs = append(attrs, "peer_id", rec.PeerID)
	}
	c.log.Info("certificate issued", attrs...)
}

// Revoke marks serial revoked for reason. The next CRL and every OCSP
// response from now on report it.
func (c *CA) Revoke(ctx context.Context, serial string, reason Reason) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	rec, err := c.db.update(serial, func(r *Record) error {
		if r.Status == StatusRevoked {
			return fmt.Errorf("%w: %s since %s", ErrAlreadyRevoked, serial, r.RevokedAt.Format(time.RFC3339))
		}
		r.Status, r.RevokedAt, r.Reason = StatusRevoked, &now, reason.String()
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.crlStale = true
	c.mu.Unlock()
	c.log.Info("certificate revoked", "serial", serial, "reason", reason.String())
	return rec, nil
}

// Get returns the record of serial.
func (c *CA) Get(ctx context.Context, serial string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	serial, err := NormalizeSerial(serial)
	if err != nil {
		return nil, err
	}
	return c.db.get(serial)
}

// List returns every record, optionally only those with status.
func (c *CA) List(ctx context.Context, status string) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.db.list(func(r *Record) bool { return status == "" || r.Status == status })
}

// newSerial returns a random positive 128-bit serial number with the top bit
// set, so every serial is exactly 16 bytes of entropy-bearing DER.
func newSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] |= 0x80
	return new(big.Int).SetBytes(b), nil
}

// SerialHex formats a serial as lower-case hex, the database key.
func SerialHex(n *big.Int) string { return hex.EncodeToString(n.Bytes()) }

// NormalizeSerial accepts hex with optional colons or 0x and returns the
// database form.
func NormalizeSerial(s string) (string, error) {
	s = strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(strings.TrimSpace(s), ":", ""), "0x"))
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() <= 0 || len(s) > 40 {
		return "", fmt.Errorf("%w: %q is not a hex serial", ErrUnknownSerial, s)
	}
	return SerialHex(n), nil
}

// Fingerprint is the SHA-256 of a certificate's DER, lower-case hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// PEMChain encodes certificates as concatenated PEM.
func PEMChain(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pemCert(c)...)
	}
	return out
}

// ParseCertificates reads every CERTIFICATE block of PEM data, in order,
// skipping other blocks; none at all is an error.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

func readCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: %s is not a PEM certificate", ErrBadConfig, path)
	}
	return x509.ParseCertificate(block.Bytes)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
