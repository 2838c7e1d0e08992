package globalconf

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/internal/ident"
)

// Validate reports the first rule d breaks. It expects a normalized
// document (Canonical and Verify normalize first). Errors wrap ErrMalformed.
func (d *Document) Validate() error {
	if err := d.validateHeader(); err != nil {
		return err
	}
	if err := d.validateRegistryServers(); err != nil {
		return err
	}
	if err := d.validateTSAs(); err != nil {
		return err
	}
	members, err := d.validateMembers()
	if err != nil {
		return err
	}
	subsystems, err := d.validateSubsystems(members)
	if err != nil {
		return err
	}
	if err := d.validateNodes(members); err != nil {
		return err
	}
	if err := d.validateServices(subsystems); err != nil {
		return err
	}
	if err := d.validateGroups(subsystems); err != nil {
		return err
	}
	return d.validateRevoked()
}

// malformedf is a Validate error: the formatted rule, wrapping ErrMalformed.
func malformedf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// validateHeader checks format, instance, version, validity period, the
// policy and that the CA chain is not empty and has no empty entry.
func (d *Document) validateHeader() error {
	switch {
	case d.Format != Format:
		return malformedf("format %d, want %d", d.Format, Format)
	case ident.CheckPart(d.Instance) != nil:
		return malformedf("instance %q is not a valid identifier part", d.Instance)
	case d.Version == 0:
		return malformedf("version must be positive")
	case d.IssuedAt.IsZero() || !d.ExpiresAt.After(d.IssuedAt):
		return malformedf("expires_at must be after a set issued_at")
	case len(d.CAChain) == 0:
		return malformedf("ca_chain is empty")
	}
	if err := d.Policy.Validate(); err != nil {
		return err
	}
	for i, der := range d.CAChain {
		if len(der) == 0 {
			return malformedf("ca_chain[%d] is empty", i)
		}
	}
	return nil
}

// validateRegistryServers checks the registry servers: unique, identifier
// IDs, http(s) URLs.
func (d *Document) validateRegistryServers() error {
	if i := dupIndex(d.RegistryServers, func(s RegistryServer) string { return s.ID }); i >= 0 {
		return malformedf("registry server %q listed twice", d.RegistryServers[i].ID)
	}
	for _, s := range d.RegistryServers {
		if err := ident.CheckPart(s.ID); err != nil {
			return malformedf("registry server id: %v", err)
		}
		if err := checkURL(s.URL); err != nil {
			return malformedf("registry server %s: %v", s.ID, err)
		}
	}
	return nil
}

// validateTSAs checks the TSAs: unique, text names, http(s) URLs, a
// certificate each.
func (d *Document) validateTSAs() error {
	if i := dupIndex(d.TSAs, func(t TSA) string { return t.Name }); i >= 0 {
		return malformedf("TSA %q listed twice", d.TSAs[i].Name)
	}
	for _, t := range d.TSAs {
		if err := checkText(t.Name, false); err != nil {
			return malformedf("TSA name: %v", err)
		}
		if err := checkURL(t.URL); err != nil {
			return malformedf("TSA %s: %v", t.Name, err)
		}
		if len(t.CertDER) == 0 {
			return malformedf("TSA %s has no certificate", t.Name)
		}
	}
	return nil
}

// validateMembers checks the members (unique, canonical IDs of d's
// instance, text names, known statuses) and returns the set of their IDs.
func (d *Document) validateMembers() (map[string]bool, error) {
	if i := dupIndex(d.Members, func(m Member) string { return m.ID }); i >= 0 {
		return nil, malformedf("member %q listed twice", d.Members[i].ID)
	}
	members := make(map[string]bool, len(d.Members))
	for _, m := range d.Members {
		if id, err := ident.ParseMember(m.ID, d.Instance); err != nil || id.String() != m.ID {
			return nil, malformedf("member id %q is not INSTANCE/CLASS/CODE of instance %s", m.ID, d.Instance)
		}
		if err := checkText(m.Name, true); err != nil {
			return nil, malformedf("member %s name: %v", m.ID, err)
		}
		if !oneOf(m.Status, ident.MemberActive, ident.MemberSuspended, ident.MemberRevoked) {
			return nil, malformedf("member %s status %q", m.ID, m.Status)
		}
		if m.SealKey != nil && len(m.SealKey) != ed25519.PublicKeySize {
			return nil, malformedf("member %s seal_key of %d bytes, want %d", m.ID, len(m.SealKey), ed25519.PublicKeySize)
		}
		members[m.ID] = true
	}
	return members, nil
}

// validateSubsystems checks the subsystems (unique, MEMBER/SUBSYSTEM of a
// listed member, known statuses) and returns the set of their IDs.
func (d *Document) validateSubsystems(members map[string]bool) (map[string]bool, error) {
	if i := dupIndex(d.Subsystems, func(s Subsystem) string { return s.ID }); i >= 0 {
		return nil, malformedf("subsystem %q listed twice", d.Subsystems[i].ID)
	}
	subsystems := make(map[string]bool, len(d.Subsystems))
	for _, s := range d.Subsystems {
		if err := ident.CheckPart(s.ID[strings.LastIndexByte(s.ID, '/')+1:]); err != nil || !members[s.Member()] {
			return nil, malformedf("subsystem %q is not MEMBER/SUBSYSTEM of a listed member", s.ID)
		}
		if !oneOf(s.Status, ident.SubsystemActive, ident.SubsystemCancelled) {
			return nil, malformedf("subsystem %s status %q", s.ID, s.Status)
		}
		subsystems[s.ID] = true
	}
	return subsystems, d.validateDocuments()
}

// validateNodes checks that no node is listed twice, then each node.
func (d *Document) validateNodes(members map[string]bool) error {
	if i := dupIndex(d.Nodes, func(n Node) string { return n.PeerID }); i >= 0 {
		return malformedf("node %q listed twice", d.Nodes[i].PeerID)
	}
	for _, n := range d.Nodes {
		if err := validateNode(n, members); err != nil {
			return err
		}
	}
	return nil
}

// validateNode checks one node: canonical peer ID, a listed member, its
// addresses, certificate hash and serial, and status.
func validateNode(n Node, members map[string]bool) error {
	if id, err := peer.Decode(n.PeerID); err != nil || id.String() != n.PeerID {
		return malformedf("node peer id %q is not a canonical libp2p peer ID", n.PeerID)
	}
	if !members[n.Member] {
		return malformedf("node %s: unknown member %q", n.PeerID, n.Member)
	}
	if len(n.Addrs) > maxAddrs {
		return malformedf("node %s: more than %d addresses", n.PeerID, maxAddrs)
	}
	for i, a := range n.Addrs {
		if !strings.HasPrefix(a, "/") || checkText(a, false) != nil || (i > 0 && n.Addrs[i-1] == a) {
			return malformedf("node %s: address %q is not a multiaddr or is listed twice", n.PeerID, a)
		}
	}
	if !isHex256(n.CertSHA256) {
		return malformedf("node %s: cert_sha256 must be 64 lower-case hex digits", n.PeerID)
	}
	if !isSerial(n.CertSerial) {
		return malformedf("node %s: cert_serial %q must be lower-case hex octets without leading zero octets", n.PeerID, n.CertSerial)
	}
	if !oneOf(n.Status, ident.NodeActive, ident.NodeCancelled, ident.NodeRevoked) {
		return malformedf("node %s status %q", n.PeerID, n.Status)
	}
	return nil
}

// validateServices checks the services: unique, a listed provider
// subsystem, identifier code and version, known lifecycle, description
// hash, known classification, schema reference.
func (d *Document) validateServices(subsystems map[string]bool) error {
	if i := dupIndex(d.Services, Service.ID); i >= 0 {
		return malformedf("service %q listed twice", d.Services[i].ID())
	}
	for _, s := range d.Services {
		if !subsystems[s.Provider] {
			return malformedf("service %s: unknown provider subsystem", s.ID())
		}
		if ident.CheckPart(s.Code) != nil || (s.Version != "" && ident.CheckPart(s.Version) != nil) {
			return malformedf("service %s: code and version must be identifier parts", s.ID())
		}
		if !oneOf(s.Lifecycle, ident.ServicePublished, ident.ServiceDeprecated, ident.ServiceRetired) {
			return malformedf("service %s lifecycle %q", s.ID(), s.Lifecycle)
		}
		if s.DescriptionSHA256 != "" && !isHex256(s.DescriptionSHA256) {
			return malformedf("service %s: description_sha256 must be 64 lower-case hex digits", s.ID())
		}
		if s.Classification != "" && !s.Classification.Valid() {
			return malformedf("service %s classification %q", s.ID(), s.Classification)
		}
		if err := s.validateSchemas(); err != nil {
			return err
		}
	}
	return nil
}

// validateSchemas checks a service's schema reference: digests of 64
// lower-case hex digits, and a known type exactly when there is one.
func (s Service) validateSchemas() error {
	for _, d := range []struct{ name, sum string }{{"request", s.RequestSchemaSHA256}, {"response", s.ResponseSchemaSHA256}} {
		if d.sum != "" && !isHex256(d.sum) {
			return malformedf("service %s: %s_schema_sha256 must be 64 lower-case hex digits", s.ID(), d.name)
		}
	}
	named := s.RequestSchemaSHA256 != "" || s.ResponseSchemaSHA256 != ""
	switch {
	case named && s.SchemaType != SchemaJSON && s.SchemaType != SchemaXSD:
		return malformedf("service %s schema_type %q: want json or xsd", s.ID(), s.SchemaType)
	case !named && s.SchemaType != "":
		return malformedf("service %s: schema_type %q without a schema digest", s.ID(), s.SchemaType)
	}
	return nil
}

// validateGroups checks the groups: unique, identifier codes, members
// listed subsystems each at most once.
func (d *Document) validateGroups(subsystems map[string]bool) error {
	if i := dupIndex(d.Groups, func(g Group) string { return g.Code }); i >= 0 {
		return malformedf("group %q listed twice", d.Groups[i].Code)
	}
	for _, g := range d.Groups {
		if err := ident.CheckPart(g.Code); err != nil {
			return malformedf("group code: %v", err)
		}
		for i, m := range g.Members {
			if !subsystems[m] || (i > 0 && g.Members[i-1] == m) {
				return malformedf("group %s: member %q unknown or listed twice", g.Code, m)
			}
		}
	}
	return nil
}

// validateRevoked checks the revoked list: unique canonical serials, RFC
// 5280 reason names, a revocation time each.
func (d *Document) validateRevoked() error {
	if i := dupIndex(d.Revoked, func(r RevokedCert) string { return r.Serial }); i >= 0 {
		return malformedf("revoked serial %q listed twice", d.Revoked[i].Serial)
	}
	for _, r := range d.Revoked {
		if !isSerial(r.Serial) {
			return malformedf("revoked serial %q must be lower-case hex octets without leading zero octets", r.Serial)
		}
		if !oneOf(r.Reason, reasons...) {
			return malformedf("revoked %s: reason %q is not an RFC 5280 reason name", r.Serial, r.Reason)
		}
		if r.RevokedAt.IsZero() {
			return malformedf("revoked %s: revoked_at missing", r.Serial)
		}
	}
	return nil
}

// Validate reports the first parameter out of range; errors wrap ErrMalformed.
func (p Policy) Validate() error {
	const day = 24 * time.Hour
	switch {
	case p.RateLimitReadsPerMin < 1 || p.RateLimitWritesPerMin < 1:
		return fmt.Errorf("%w: policy: rate limits must be at least 1 per minute", ErrMalformed)
	case p.MaxClockSkew < Duration(time.Second) || p.MaxClockSkew > Duration(time.Hour):
		return fmt.Errorf("%w: policy: max clock skew must be 1s..1h", ErrMalformed)
	case p.TimestampInterval < Duration(time.Second) || p.TimestampInterval > Duration(day):
		return fmt.Errorf("%w: policy: timestamp interval must be 1s..24h", ErrMalformed)
	case p.ConfigValidity < Duration(time.Hour) || p.ConfigValidity > Duration(365*day):
		return fmt.Errorf("%w: policy: config validity must be 1h..365 days", ErrMalformed)
	case p.MaxConfigAge < p.ConfigValidity || p.MaxConfigAge > Duration(365*day):
		return fmt.Errorf("%w: policy: max config age must be at least the config validity and at most 365 days", ErrMalformed)
	}
	return nil
}

// dupIndex returns the index of the first element whose key equals its
// predecessor's in a sorted slice, or -1.
func dupIndex[T any](s []T, key func(T) string) int {
	for i := 1; i < len(s); i++ {
		if key(s[i]) == key(s[i-1]) {
			return i
		}
	}
	return -1
}

func oneOf[T ~string](s T, set ...T) bool { return slices.Contains(set, s) }

func isHex256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// isSerial reports whether s is a certificate serial as ca.SerialHex writes
// it: lower-case hex of the big-endian octets of a positive integer of at
// most 20 octets, without leading zero octets (so one serial has one
// spelling).
func isSerial(s string) bool {
	if s == "" || len(s) > 40 || strings.ToLower(s) != s {
		return false
	}
	n, ok := new(big.Int).SetString(s, 16)
	return ok && n.Sign() > 0 && hex.EncodeToString(n.Bytes()) == s
}

// checkText accepts valid UTF-8 of 1..maxNameLen bytes (empty too when
// allowEmpty) without control characters.
func checkText(s string, allowEmpty bool) error {
	if (s == "" && !allowEmpty) || len(s) > maxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("must be 1..%d bytes of UTF-8", maxNameLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %q", r)
		}
	}
	return nil
}

// checkURL accepts an absolute http(s) URL with a host and no user info,
// query or fragment.
func checkURL(s string) error {
	if len(s) > maxURLLen {
		return fmt.Errorf("URL longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an http(s)://host[:port][/path] URL", s)
	}
	return nil
}
