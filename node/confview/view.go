package confview

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/envelope"
)

// ErrNoConfig: there is no usable global configuration (none yet, no CA
// chain in it, or past its maximum age).
var ErrNoConfig = errors.New("node: no valid global configuration")

// View is one verified global configuration, indexed for the data path.
// It is immutable once built; the node swaps whole views on update, and a
// call takes one view when it starts and uses it to its end.
type View struct {
	doc      *globalconf.Document
	members  map[string]*globalconf.Member
	subs     map[string]*globalconf.Subsystem
	nodes    map[peer.ID]*globalconf.Node
	addrs    map[peer.ID][]ma.Multiaddr
	byMember map[string][]peer.ID // active nodes per member, in peer ID order
	services map[string]*globalconf.Service
	groups   map[string][]string
	certs    *envelope.ChainChecker
	roots    *x509.CertPool
}

// New indexes doc.
func New(doc *globalconf.Document) (*View, error) {
	v := &View{
		doc:      doc,
		members:  make(map[string]*globalconf.Member, len(doc.Members)),
		subs:     make(map[string]*globalconf.Subsystem, len(doc.Subsystems)),
		nodes:    make(map[peer.ID]*globalconf.Node, len(doc.Nodes)),
		addrs:    make(map[peer.ID][]ma.Multiaddr, len(doc.Nodes)),
		byMember: map[string][]peer.ID{},
		services: make(map[string]*globalconf.Service, len(doc.Services)),
		groups:   make(map[string][]string, len(doc.Groups)),
	}
	for i := range doc.Members {
		v.members[doc.Members[i].ID] = &doc.Members[i]
	}
	for i := range doc.Subsystems {
		v.subs[doc.Subsystems[i].ID] = &doc.Subsystems[i]
	}
	for i := range doc.Nodes {
		n := &doc.Nodes[i]
		pid, err := peer.Decode(n.PeerID)
		if err != nil {
			continue // Validate has checked; never trust a bad entry
		}
		v.nodes[pid] = n
		for _, a := range n.Addrs {
			if m, err := ma.NewMultiaddr(a); err == nil {
				v.addrs[pid] = append(v.addrs[pid], m)
			}
		}
		if v.NodeUsable(n) {
			v.byMember[n.Member] = append(v.byMember[n.Member], pid)
		}
	}
	for i := range doc.Services {
		v.services[doc.Services[i].ID()] = &doc.Services[i]
	}
	for _, g := range doc.Groups {
		v.groups[g.Code] = g.Members
	}
	cas, err := doc.CACertificates()
	if err != nil || len(cas) == 0 {
		return nil, fmt.Errorf("%w: configuration has no usable CA chain: %v", ErrNoConfig, err)
	}
	v.roots, v.certs = x509.NewCertPool(), nil
	inter := x509.NewCertPool()
	for i, c := range cas {
		if i == len(cas)-1 {
			v.roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	v.certs = envelope.NewChainChecker(v.roots, inter, 0)
	return v, nil
}

// MemberActive reports whether member is admitted and active.
func (v *View) MemberActive(member string) bool {
	m := v.members[member]
	return m != nil && m.Status == ident.MemberActive
}

// MemberStatus is member's status in the configuration; "" when it is not
// listed (never admitted, or still pending).
func (v *View) MemberStatus(member string) ident.MemberStatus {
	if m := v.members[member]; m != nil {
		return m.Status
	}
	return ""
}

// SealKey is the key Secret bodies for member are sealed to
// (globalconf.Member.SealKey), nil when the configuration lists none: the
// member may not exchange Secret data.
func (v *View) SealKey(member string) ed25519.PublicKey {
	if m := v.members[member]; m != nil && len(m.SealKey) == ed25519.PublicKeySize {
		return ed25519.PublicKey(m.SealKey)
	}
	return nil
}

// SubsystemActive reports whether the subsystem id
// (INSTANCE/CLASS/CODE/SUBSYSTEM) is registered and active. Its member's
// status is MemberStatus's to tell.
func (v *View) SubsystemActive(id string) bool {
	s := v.subs[id]
	return s != nil && s.Status == ident.SubsystemActive
}

// Subsystem returns the subsystem id of the configuration, or nil.
func (v *View) Subsystem(id string) *globalconf.Subsystem { return v.subs[id] }

// MemberInbox returns the active subsystem that receives the documents
// addressed to member (globalconf.Documents.MemberInbox), or "".
func (v *View) MemberInbox(member string) string {
	for _, s := range v.doc.Subsystems {
		if s.Documents != nil && s.Documents.MemberInbox && s.Status == ident.SubsystemActive && s.Member() == member {
			return s.ID
		}
	}
	return ""
}

// NodeUsable reports whether n may take part in exchanges: active, of an
// active member, with an unrevoked auth certificate.
func (v *View) NodeUsable(n *globalconf.Node) bool {
	return n.Status == ident.NodeActive && v.MemberActive(n.Member) && !v.doc.IsRevoked(n.CertSerial)
}

// PeerAllowed is the connection gate: only usable nodes of the
// configuration may connect or be dialled.
func (v *View) PeerAllowed(p peer.ID) (*globalconf.Node, bool) {
	n := v.nodes[p]
	if n == nil || !v.NodeUsable(n) {
		return nil, false
	}
	return n, true
}

// ReplayWindow is how long request IDs are remembered; the accepted clock
// skew is never larger (a larger policy value is clamped to it), so a
// replay cannot outlive the cache.
const ReplayWindow = 10 * time.Minute

// Policy is the envelope policy of a call under this configuration: the
// clock, the skew allowed (never more than ReplayWindow), CA chain and
// revocations; local is this node's peer ID (requests), expected the
// member whose signature is expected ("" for any).
func (v *View) Policy(now func() time.Time, local, expected string) envelope.Policy {
	p := envelope.Policy{
		Now:     now,
		MaxSkew: min(time.Duration(v.doc.Policy.MaxClockSkew), ReplayWindow),
		Certs:   v.certs,
		Revoked: v.doc.IsRevoked,
	}
	if local != "" {
		p.LocalPeer = local
	}
	if expected != "" {
		p.ExpectedSigner, _ = parseMember(expected)
	}
	return p
}

// Members implements services.Groups over the configuration's global groups.
func (v *View) Members(code string) []string { return v.groups[code] }

func parseMember(s string) (ident.Member, error) { return ident.ParseMember(s, "") }

// Doc is the configuration document (shared: never modify it).
func (v *View) Doc() *globalconf.Document { return v.doc }

// Service is the catalogue entry of a service ID, or nil.
func (v *View) Service(id string) *globalconf.Service { return v.services[id] }

// NodesOf are member's usable nodes, in peer ID order (shared).
func (v *View) NodesOf(member string) []peer.ID { return v.byMember[member] }

// Addrs are the addresses of every node of the configuration (shared).
func (v *View) Addrs() map[peer.ID][]ma.Multiaddr { return v.addrs }

// Certs checks certificate chains against the configuration's CA.
func (v *View) Certs() *envelope.ChainChecker { return v.certs }

// Roots is the configuration's root CA pool.
func (v *View) Roots() *x509.CertPool { return v.roots }
