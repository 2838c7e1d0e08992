package state

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/multiformats/go-multiaddr"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
)

// Proposer-side preparation: Prepare validates what needs no state and
// derives facts from CSRs and certificates, before a command enters the log.

// Invalidf returns ErrInvalidArgument with a formatted reason.
func Invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidArgument, fmt.Sprintf(format, a...))
}

func (c *InitInstance) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.Instance); err != nil {
		return Invalidf("instance: %v", err)
	}
	if len(c.CAChain) == 0 {
		return Invalidf("CA chain is empty")
	}
	for i, der := range c.CAChain {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("%w: CA chain[%d]: %v", ErrBadCertificate, i, err)
		}
		if !cert.IsCA {
			return fmt.Errorf("%w: CA chain[%d] (%s) is not a CA certificate", ErrBadCertificate, i, cert.Subject)
		}
	}
	seen := map[string]bool{}
	for i, t := range c.TSAs {
		if err := ident.CheckPart(t.Name); err != nil || seen[t.Name] {
			return Invalidf("tsas[%d]: name %q must be a unique identifier part", i, t.Name)
		}
		seen[t.Name] = true
		if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Invalidf("tsas[%d]: URL %q must be http(s)://host/...", i, t.URL)
		}
		if _, err := x509.ParseCertificate(t.CertDER); err != nil {
			return fmt.Errorf("%w: tsas[%d]: %v", ErrBadCertificate, i, err)
		}
	}
	if c.Policy != nil {
		return validatePolicy(*c.Policy)
	}
	return nil
}

func (c *SubmitRegistration) Prepare(rnd io.Reader) error {
	if err := requestID(rnd, &c.RequestID); err != nil {
		return err
	}
	if _, err := ident.ParseMember(c.Member, ""); err != nil {
		return Invalidf("member: %v", err)
	}
	if err := c.Registration.Validate(); err != nil {
		return err
	}
	if err := checkAddrs(c.NodeAddrs); err != nil {
		return err
	}
	node, err := ca.ParseCSR(c.NodeCSR)
	if err != nil {
		return csrError("node auth", err)
	}
	sign, err := ca.ParseCSR(c.SignCSR)
	if err != nil {
		return csrError("signing", err)
	}
	pid, err := ca.PeerIDFromKey(node.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: node auth: %w", ErrBadCSR, err)
	}
	if c.NodeKeySHA256, err = keyHash(node.PublicKey); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if c.SignKeySHA256, err = keyHash(sign.PublicKey); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCSR, err)
	}
	if c.NodeKeySHA256 == c.SignKeySHA256 {
		return fmt.Errorf("%w: the node auth key and the signing key must differ", ErrBadCSR)
	}
	c.PeerID, c.NodeCSR, c.SignCSR = pid.String(), node.Raw, sign.Raw
	return nil
}

func (c *ApproveRegistration) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.RequestID); err != nil {
		return Invalidf("request ID: %v", err)
	}
	if len(c.NodeCert.DER) == 0 && len(c.SignCert.DER) == 0 {
		return nil // a system request's approval issues no certificate
	}
	if err := c.NodeCert.derive(ca.ProfileNodeAuth); err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	if err := c.SignCert.derive(ca.ProfileMemberSign); err != nil {
		return fmt.Errorf("signing certificate: %w", err)
	}
	return nil
}

func (c *RejectRegistration) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.RequestID); err != nil {
		return Invalidf("request ID: %v", err)
	}
	if err := checkText(c.Reason, maxLongText); err != nil {
		return Invalidf("reason: %v", err)
	}
	return nil
}

func (c *CancelRegistration) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.RequestID); err != nil {
		return Invalidf("request ID: %v", err)
	}
	return checkOptText("reason", c.Reason)
}

func (c *SuspendMember) Prepare(io.Reader) error {
	if err := checkMember(c.Member); err != nil {
		return err
	}
	if err := checkText(c.Reason, maxLongText); err != nil {
		return Invalidf("reason: %v", err)
	}
	return nil
}

func (c *ReactivateMember) Prepare(io.Reader) error {
	if err := checkMember(c.Member); err != nil {
		return err
	}
	return checkOptText("reason", c.Reason)
}

func (c *RevokeMember) Prepare(io.Reader) error {
	if err := checkMember(c.Member); err != nil {
		return err
	}
	r, err := ca.ParseReason(c.Reason)
	if err != nil {
		return Invalidf("reason: %v", err)
	}
	c.Reason = r.String()
	return checkOptText("note", c.Note)
}

func (c *CancelConnection) Prepare(io.Reader) error {
	if err := checkMember(c.Member); err != nil {
		return err
	}
	if (c.PeerID == "") == (c.Subsystem == "") {
		return Invalidf("name exactly one of a node (peer ID) and a subsystem")
	}
	if c.PeerID != "" && len(c.PeerID) > 128 {
		return Invalidf("peer ID too long")
	}
	return checkOptText("reason", c.Reason)
}

func (c *AddNode) Prepare(io.Reader) error {
	if err := checkMember(c.Member); err != nil {
		return err
	}
	if err := checkAddrs(c.Addrs); err != nil {
		return err
	}
	return c.Cert.derive(ca.ProfileNodeAuth)
}

func (c *SetNodeAddrs) Prepare(io.Reader) error {
	if c.PeerID == "" || len(c.PeerID) > 128 {
		return Invalidf("peer ID %q", c.PeerID)
	}
	return checkAddrs(c.Addrs)
}

func (c *PublishService) Prepare(io.Reader) error {
	if _, err := splitSubsystem(c.Subsystem); err != nil {
		return err
	}
	if err := ident.CheckPart(c.Code); err != nil {
		return Invalidf("service code: %v", err)
	}
	if c.Version != "" {
		if err := ident.CheckPart(c.Version); err != nil {
			return Invalidf("service version: %v", err)
		}
	}
	if err := checkServiceClass(c.Classification); err != nil {
		return err
	}
	if err := c.Schemas.check(); err != nil {
		return err
	}
	return checkSHA256(c.DescriptionSHA256)
}

func (c *DeprecateService) Prepare(io.Reader) error {
	if c.Service == "" || len(c.Service) > 5*ident.MaxPart+5 {
		return Invalidf("service ID %q", c.Service)
	}
	if c.Sunset.IsZero() {
		return Invalidf("a deprecation needs a sunset time")
	}
	c.Sunset = c.Sunset.UTC()
	return nil
}

func (c *RetireService) Prepare(io.Reader) error {
	if c.Service == "" || len(c.Service) > 5*ident.MaxPart+5 {
		return Invalidf("service ID %q", c.Service)
	}
	return nil
}

func (c *SetGroup) Prepare(io.Reader) error {
	if err := ident.CheckPart(c.Code); err != nil {
		return Invalidf("group code: %v", err)
	}
	if c.Delete {
		return nil
	}
	if err := checkText(c.Description, MaxText); err != nil {
		return Invalidf("description: %v", err)
	}
	for _, m := range c.Members {
		if _, err := splitSubsystem(m); err != nil {
			return err
		}
	}
	return nil
}

func (c *SetPolicy) Prepare(io.Reader) error { return validatePolicy(c.Policy) }

// ---- helpers ----

// newID returns a random request ID: 20 lower-case hex characters.
// requestID gives a submission without a request ID a new one, and checks it.
func requestID(rnd io.Reader, id *string) error {
	if *id == "" {
		n, err := newID(rnd)
		if err != nil {
			return err
		}
		*id = n
	}
	if err := ident.CheckPart(*id); err != nil {
		return Invalidf("request ID: %v", err)
	}
	return nil
}

func newID(rnd io.Reader) (string, error) {
	b := make([]byte, 10)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("membership: random ID: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func checkMember(s string) error {
	if _, err := ident.ParseMember(s, ""); err != nil {
		return Invalidf("member: %v", err)
	}
	return nil
}

func checkOptText(name, s string) error {
	if s == "" {
		return nil
	}
	if err := checkText(s, maxLongText); err != nil {
		return Invalidf("%s: %v", name, err)
	}
	return nil
}

// splitSubsystem parses INSTANCE/CLASS/CODE/SUBSYSTEM into its member ID.
func splitSubsystem(s string) (member string, err error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return "", Invalidf("subsystem %q: want INSTANCE/CLASS/CODE/SUBSYSTEM", s)
	}
	if _, err := ident.ParseMember(s[:i], ""); err != nil {
		return "", Invalidf("subsystem %q: %v", s, err)
	}
	if err := ident.CheckPart(s[i+1:]); err != nil {
		return "", Invalidf("subsystem %q: %v", s, err)
	}
	return s[:i], nil
}

func checkSHA256(h string) error {
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return Invalidf("description hash %q: want 64 lower-case hex digits (SHA-256)", h)
	}
	return nil
}

func checkAddrs(addrs []string) error {
	if len(addrs) > MaxAddrs {
		return Invalidf("%d addresses, limit %d", len(addrs), MaxAddrs)
	}
	for _, a := range addrs {
		if len(a) > 256 {
			return Invalidf("address %.40q… too long", a)
		}
		if _, err := multiaddr.NewMultiaddr(a); err != nil {
			return Invalidf("address %q is not a multiaddr: %v", a, err)
		}
	}
	return nil
}

func keyHash(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// derive fills c from c.DER (PEM accepted): serial, key hash, member and
// peer ID from the URI SANs (the peer ID checked against the key), expiry.
// It checks the certificate fits profile; the chain is the caller's concern
// (the CA that issued it is the registry's own).
func (c *Cert) derive(profile ca.Profile) error {
	der := c.DER
	if b, _ := pem.Decode(der); b != nil && b.Type == "CERTIFICATE" {
		der = b.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	fresh := Cert{DER: cert.Raw, Serial: ca.SerialHex(cert.SerialNumber), NotAfter: cert.NotAfter.UTC()}
	if fresh.KeySHA256, err = keyHash(cert.PublicKey); err != nil {
		return fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	var uriPeer string
	for _, u := range cert.URIs {
		switch s := u.String(); {
		case strings.HasPrefix(s, ca.URIMemberPrefix):
			fresh.Member = strings.TrimPrefix(s, ca.URIMemberPrefix)
		case strings.HasPrefix(s, ca.URIPeerPrefix):
			uriPeer = strings.TrimPrefix(s, ca.URIPeerPrefix)
		}
	}
	if fresh.Member == "" {
		return fmt.Errorf("%w: no %s URI", ErrBadCertificate, ca.URIMemberPrefix)
	}
	switch profile {
	case ca.ProfileNodeAuth:
		pid, err := ca.PeerIDFromKey(cert.PublicKey)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadCertificate, err)
		}
		if uriPeer != pid.String() {
			return fmt.Errorf("%w: peer ID URI %q does not match the key's %s", ErrBadCertificate, uriPeer, pid)
		}
		if !hasEKU(cert, x509.ExtKeyUsageClientAuth) || !hasEKU(cert, x509.ExtKeyUsageServerAuth) {
			return fmt.Errorf("%w: a node-auth certificate needs clientAuth and serverAuth", ErrBadCertificate)
		}
		fresh.PeerID = uriPeer
	case ca.ProfileMemberSign:
		if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 || cert.KeyUsage&x509.KeyUsageContentCommitment == 0 {
			return fmt.Errorf("%w: a member-sign certificate needs digitalSignature and contentCommitment", ErrBadCertificate)
		}
	}
	*c = fresh
	return nil
}

func hasEKU(c *x509.Certificate, want x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == want {
			return true
		}
	}
	return false
}

// csrError is ErrBadCSR for a CSR of the role that does not parse, and also
// ErrCSRSignature for one whose self-signature does not verify: the
// applicant has not shown it holds the key.
func csrError(role string, err error) error {
	if errors.Is(err, ca.ErrCSRSignature) {
		return fmt.Errorf("%w: %w: %s: %w", ErrCSRSignature, ErrBadCSR, role, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrBadCSR, role, err)
}
