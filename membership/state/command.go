package state

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
)

// CommandType is the first byte of every Raft log entry the registry
// writes. The values are part of the log format: never renumber or reuse one.
type CommandType uint8

// Command types.
const (
	CmdInitInstance        CommandType = 1
	CmdSubmitRegistration  CommandType = 2
	CmdApproveRegistration CommandType = 3
	CmdRejectRegistration  CommandType = 4
	CmdCancelRegistration  CommandType = 5
	CmdSuspendMember       CommandType = 6
	CmdReactivateMember    CommandType = 7
	CmdRevokeMember        CommandType = 8
	CmdCancelConnection    CommandType = 9
	CmdAddNode             CommandType = 10
	CmdSetNodeAddrs        CommandType = 11
	CmdPublishService      CommandType = 12
	CmdDeprecateService    CommandType = 13
	CmdRetireService       CommandType = 14
	CmdSetGroup            CommandType = 15
	CmdSetPolicy           CommandType = 16
	// The registry's own administration.
	CmdSetRegistryServer CommandType = 17
	CmdAddOperator       CommandType = 18
	CmdRemoveOperator    CommandType = 19
	// The join workflow (jointoken.go).
	CmdCreateJoinToken  CommandType = 20
	CmdConsumeJoinToken CommandType = 21
)

var commandTypes = map[CommandType]struct {
	name string
	new  func() Command
}{
	CmdInitInstance:        {"init_instance", func() Command { return new(InitInstance) }},
	CmdSubmitRegistration:  {"submit_registration", func() Command { return new(SubmitRegistration) }},
	CmdApproveRegistration: {"approve_registration", func() Command { return new(ApproveRegistration) }},
	CmdRejectRegistration:  {"reject_registration", func() Command { return new(RejectRegistration) }},
	CmdCancelRegistration:  {"cancel_registration", func() Command { return new(CancelRegistration) }},
	CmdSuspendMember:       {"suspend_member", func() Command { return new(SuspendMember) }},
	CmdReactivateMember:    {"reactivate_member", func() Command { return new(ReactivateMember) }},
	CmdRevokeMember:        {"revoke_member", func() Command { return new(RevokeMember) }},
	CmdCancelConnection:    {"cancel_connection", func() Command { return new(CancelConnection) }},
	CmdAddNode:             {"add_node", func() Command { return new(AddNode) }},
	CmdSetNodeAddrs:        {"set_node_addrs", func() Command { return new(SetNodeAddrs) }},
	CmdPublishService:      {"publish_service", func() Command { return new(PublishService) }},
	CmdDeprecateService:    {"deprecate_service", func() Command { return new(DeprecateService) }},
	CmdRetireService:       {"retire_service", func() Command { return new(RetireService) }},
	CmdSetGroup:            {"set_group", func() Command { return new(SetGroup) }},
	CmdSetPolicy:           {"set_policy", func() Command { return new(SetPolicy) }},
	CmdSetRegistryServer:   {"set_registry_server", func() Command { return new(SetRegistryServer) }},
	CmdAddOperator:         {"add_operator", func() Command { return new(AddOperator) }},
	CmdRemoveOperator:      {"remove_operator", func() Command { return new(RemoveOperator) }},
	CmdCreateJoinToken:     {"create_join_token", func() Command { return new(CreateJoinToken) }},
	CmdConsumeJoinToken:    {"consume_join_token", func() Command { return new(ConsumeJoinToken) }},
}

func (t CommandType) String() string {
	if c, ok := commandTypes[t]; ok {
		return c.name
	}
	return fmt.Sprintf("command_%d", uint8(t))
}

// Header is carried by every command. Server.Apply stamps Time from its
// clock when it is zero; Apply uses it as "now", never time.Now.
type Header struct {
	Actor string    `json:"actor"`
	Time  time.Time `json:"time"`
}

// CommandHeader returns h, for the Command interface.
func (h *Header) CommandHeader() *Header { return h }

// Command is one registry write. The concrete types below are the only
// implementations. Fields marked "derived" are filled by the proposer (from
// CSRs or certificates) before the command is committed; values a caller
// puts there are overwritten.
type Command interface {
	Type() CommandType
	// CommandHeader returns the embedded Header.
	CommandHeader() *Header
	// Prepare validates what needs no state and derives fields, on the
	// proposing server before the command enters the log. It may parse
	// certificates and draw randomness; Apply may do neither.
	Prepare(rnd io.Reader) error
}

// MaxAddrs caps a node's multiaddrs.
const MaxAddrs = 16

// EncodeCommand returns the log entry for c: its type byte, then JSON.
func EncodeCommand(c Command) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCommand, err)
	}
	return append([]byte{byte(c.Type())}, b...), nil
}

// DecodeCommand reads a log entry written by EncodeCommand.
func DecodeCommand(b []byte) (Command, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadCommand, len(b))
	}
	t, ok := commandTypes[CommandType(b[0])]
	if !ok {
		return nil, fmt.Errorf("%w: unknown type %d", ErrBadCommand, b[0])
	}
	c := t.new()
	if err := json.Unmarshal(b[1:], c); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadCommand, t.name, err)
	}
	return c, nil
}

// InitInstance sets up a new registry: instance code, CA chain, TSAs and
// policy. It is accepted once.
type InitInstance struct {
	Header
	Instance string   `json:"instance"`
	CAChain  [][]byte `json:"ca_chain"` // DER, issuing CA first
	TSAs     []TSA    `json:"tsas"`
	Policy   *Policy  `json:"policy,omitempty"` // nil: DefaultPolicy
}

// SubmitRegistration files a registration request; the member becomes
// pending.
type SubmitRegistration struct {
	Header
	RequestID    string       `json:"request_id"` // chosen by the proposer when empty
	Member       string       `json:"member"`     // INSTANCE/CLASS/CODE
	Registration Registration `json:"registration"`
	NodeCSR      []byte       `json:"node_csr"` // PEM or DER; stored as DER
	SignCSR      []byte       `json:"sign_csr"` // PEM or DER; stored as DER
	NodeAddrs    []string     `json:"node_addrs"`
	// Derived from the CSRs.
	NodeKeySHA256 string `json:"node_key_sha256"`
	SignKeySHA256 string `json:"sign_key_sha256"`
	PeerID        string `json:"peer_id"`
}

// ApproveRegistration approves a pending request with the certificates the
// CA issued for its CSRs (issued by the proposer before the command is
// proposed). Member, subsystem and node become active.
type ApproveRegistration struct {
	Header
	RequestID string `json:"request_id"`
	NodeCert  Cert   `json:"node_cert"` // set DER; the rest is derived
	SignCert  Cert   `json:"sign_cert"` // set DER; the rest is derived
}

// RejectRegistration refuses a pending request with a reason.
type RejectRegistration struct {
	Header
	RequestID string `json:"request_id"`
	Reason    string `json:"reason"`
}

// CancelRegistration withdraws a pending request (the applicant's choice).
type CancelRegistration struct {
	Header
	RequestID string `json:"request_id"`
	Reason    string `json:"reason,omitempty"`
}

// SuspendMember suspends an active member.
type SuspendMember struct {
	Header
	Member string `json:"member"`
	Reason string `json:"reason"`
}

// ReactivateMember lifts a suspension.
type ReactivateMember struct {
	Header
	Member string `json:"member"`
	Reason string `json:"reason,omitempty"`
}

// RevokeMember expels a member for good: its nodes are revoked, every
// certificate serial it holds enters the revoked list and its services are
// retired. The CA revocation itself is the proposer's business.
type RevokeMember struct {
	Header
	Member string `json:"member"`
	Reason string `json:"reason"` // RFC 5280 reason name; normalised by the proposer
	Note   string `json:"note,omitempty"`
}

// CancelConnection ends one connection of a member, at its request: either a
// node (its certificate is revoked, cessationOfOperation) or a subsystem
// (its services are retired and it leaves every group). Set exactly one of
// PeerID and Subsystem.
type CancelConnection struct {
	Header
	Member    string `json:"member"`
	PeerID    string `json:"peer_id,omitempty"`
	Subsystem string `json:"subsystem,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// AddNode adds a further node to an active member, with its node-auth
// certificate already issued.
type AddNode struct {
	Header
	Member string   `json:"member"`
	Addrs  []string `json:"addrs"`
	Cert   Cert     `json:"cert"` // set DER; the rest is derived
}

// SetNodeAddrs replaces a node's multiaddrs.
type SetNodeAddrs struct {
	Header
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
}

// PublishService adds a service catalogue entry, or updates the description
// hash of a published one.
type PublishService struct {
	Header
	Subsystem         string `json:"subsystem"` // INSTANCE/CLASS/CODE/SUBSYSTEM
	Code              string `json:"code"`
	Version           string `json:"version,omitempty"`
	DescriptionSHA256 string `json:"description_sha256"` // hex
}

// DeprecateService marks a published service deprecated until Sunset.
type DeprecateService struct {
	Header
	Service string    `json:"service"`
	Sunset  time.Time `json:"sunset"`
}

// RetireService retires a published or deprecated service for good.
type RetireService struct {
	Header
	Service string `json:"service"`
}

// SetGroup creates or replaces a global group, or deletes it.
type SetGroup struct {
	Header
	Code        string   `json:"code"`
	Description string   `json:"description"`
	Members     []string `json:"members"` // subsystem IDs
	Delete      bool     `json:"delete,omitempty"`
}

// SetPolicy replaces the network policy.
type SetPolicy struct {
	Header
	Policy Policy `json:"policy"`
}

// Type methods.
func (*InitInstance) Type() CommandType        { return CmdInitInstance }
func (*SubmitRegistration) Type() CommandType  { return CmdSubmitRegistration }
func (*ApproveRegistration) Type() CommandType { return CmdApproveRegistration }
func (*RejectRegistration) Type() CommandType  { return CmdRejectRegistration }
func (*CancelRegistration) Type() CommandType  { return CmdCancelRegistration }
func (*SuspendMember) Type() CommandType       { return CmdSuspendMember }
func (*ReactivateMember) Type() CommandType    { return CmdReactivateMember }
func (*RevokeMember) Type() CommandType        { return CmdRevokeMember }
func (*CancelConnection) Type() CommandType    { return CmdCancelConnection }
func (*AddNode) Type() CommandType             { return CmdAddNode }
func (*SetNodeAddrs) Type() CommandType        { return CmdSetNodeAddrs }
func (*PublishService) Type() CommandType      { return CmdPublishService }
func (*DeprecateService) Type() CommandType    { return CmdDeprecateService }
func (*RetireService) Type() CommandType       { return CmdRetireService }
func (*SetGroup) Type() CommandType            { return CmdSetGroup }
func (*SetPolicy) Type() CommandType           { return CmdSetPolicy }

// ---- proposer-side preparation ----

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
	if c.RequestID == "" {
		id, err := newID(rnd)
		if err != nil {
			return err
		}
		c.RequestID = id
	}
	if err := ident.CheckPart(c.RequestID); err != nil {
		return Invalidf("request ID: %v", err)
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
		return fmt.Errorf("%w: node auth: %w", ErrBadCSR, err)
	}
	sign, err := ca.ParseCSR(c.SignCSR)
	if err != nil {
		return fmt.Errorf("%w: signing: %w", ErrBadCSR, err)
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
