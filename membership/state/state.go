package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// StateFormat is the version of the canonical state encoding. Restore refuses
// any other.
const StateFormat = 1

// RequestStatus is where a registration request is.
type RequestStatus string

// Request statuses; every status but pending is final.
const (
	RequestPending   RequestStatus = "pending"
	RequestApproved  RequestStatus = "approved"
	RequestRejected  RequestStatus = "rejected"
	RequestCancelled RequestStatus = "cancelled"
)

// Cert is a certificate the registry knows, with the facts the proposer
// derived from its DER before the command was committed (Apply never parses
// certificates, so a later Go release cannot change how a log replays).
type Cert struct {
	Serial    string    `json:"serial"`     // lower-case hex, as ca.SerialHex
	DER       []byte    `json:"der"`        // the certificate
	KeySHA256 string    `json:"key_sha256"` // SHA-256 of the SubjectPublicKeyInfo, hex
	Member    string    `json:"member"`     // from the urn:dxl:member: URI SAN
	PeerID    string    `json:"peer_id,omitempty"`
	NotAfter  time.Time `json:"not_after"`
}

// Clone returns a deep copy of Cert.
func (c Cert) Clone() Cert { c.DER = bytes.Clone(c.DER); return c }

// Member is an agency: INSTANCE/CLASS/CODE.
type Member struct {
	ID           ident.Member       `json:"id"`
	Name         string             `json:"name"`
	Status       ident.MemberStatus `json:"status"`
	StatusReason string             `json:"status_reason,omitempty"`
	SignCert     *Cert              `json:"sign_cert,omitempty"` // set on approval
	RequestID    string             `json:"request_id"`          // the admitting registration
	CreatedAt    time.Time          `json:"created_at"`
	UpdatedAt    time.Time          `json:"updated_at"`
}

// Clone returns a deep copy of Member.
func (m Member) Clone() Member {
	if m.SignCert != nil {
		c := m.SignCert.Clone()
		m.SignCert = &c
	}
	return m
}

// Subsystem is a member's information system, INSTANCE/CLASS/CODE/SUBSYSTEM.
// Only subsystems publish and call services.
type Subsystem struct {
	ID        string                `json:"id"`
	Member    string                `json:"member"`
	Code      string                `json:"code"`
	Name      string                `json:"name"`
	Status    ident.SubsystemStatus `json:"status"`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
	// Documents is what it takes by asynchronous delivery (SetDocuments;
	// nil: any data type, not the member's inbox).
	Documents *globalconf.Documents `json:"documents,omitempty"`
}

// Node is a DXL node: a libp2p peer bound to a member by its auth certificate.
type Node struct {
	PeerID    string           `json:"peer_id"`
	Member    string           `json:"member"`
	Addrs     []string         `json:"addrs"` // multiaddrs, in the order given
	Cert      Cert             `json:"cert"`  // node-auth certificate
	Status    ident.NodeStatus `json:"status"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// Clone returns a deep copy of Node.
func (n Node) Clone() Node {
	n.Addrs = slices.Clone(n.Addrs)
	n.Cert = n.Cert.Clone()
	return n
}

// Service is a service catalogue entry, SUBSYSTEM-ID/SERVICE[/VERSION].
type Service struct {
	ID                string          `json:"id"`
	Subsystem         string          `json:"subsystem"`
	Code              string          `json:"code"`
	Version           string          `json:"version,omitempty"`
	Lifecycle         ident.Lifecycle `json:"lifecycle"`
	Sunset            *time.Time      `json:"sunset,omitempty"` // set when deprecated
	DeprecatedAt      *time.Time      `json:"deprecated_at,omitempty"`
	DescriptionSHA256 string          `json:"description_sha256"`
	// Classification is the data level (R-K1); empty in entries written
	// before levels existed, read as ident.DefaultClassification.
	Classification Classification `json:"classification,omitempty"`
	// Schemas are the digests of the data type's schemas (schema.go).
	Schemas
	PublishedAt time.Time `json:"published_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Clone returns a deep copy of Service.
func (s Service) Clone() Service {
	if s.Sunset != nil {
		t := *s.Sunset
		s.Sunset = &t
	}
	return s
}

// Group is a global group of subsystems.
type Group struct {
	Code        string    `json:"code"`
	Description string    `json:"description"`
	Members     []string  `json:"members"` // subsystem IDs, sorted
	UpdatedAt   time.Time `json:"updated_at"`
}

// Clone returns a deep copy of Group.
func (g Group) Clone() Group { g.Members = slices.Clone(g.Members); return g }

// TSA is a time-stamping authority nodes may use.
type TSA struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	CertDER []byte `json:"cert_der"`
}

// Clone returns a deep copy of TSA.
func (t TSA) Clone() TSA { t.CertDER = bytes.Clone(t.CertDER); return t }

// RevokedCert is a revoked certificate serial, carried in the global
// configuration so the data path needs no OCSP round trip.
type RevokedCert struct {
	Serial    string    `json:"serial"`
	Reason    string    `json:"reason"` // RFC 5280 reason name, as ca.Reason.String
	RevokedAt time.Time `json:"revoked_at"`
	Member    string    `json:"member,omitempty"`
	PeerID    string    `json:"peer_id,omitempty"`
}

// Policy holds the network-wide parameters nodes enforce. It is published
// unchanged in the signed global configuration, so the type is globalconf's.
type Policy = globalconf.Policy

// Duration is a time.Duration written as "1h0m0s" in JSON.
type Duration = globalconf.Duration

// DefaultPolicy returns the policy a new instance starts with.
func DefaultPolicy() Policy { return globalconf.DefaultPolicy() }

// validatePolicy checks p, reporting a problem as ErrInvalidArgument.
func validatePolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return nil
}

// Request is a registration request and what became of it.
type Request struct {
	ID            string        `json:"id"`
	Kind          RequestKind   `json:"kind,omitempty"` // "" a registration, "system" another system of a member
	Member        ident.Member  `json:"member"`
	Registration  Registration  `json:"registration"`
	NodeCSR       []byte        `json:"node_csr"` // DER
	SignCSR       []byte        `json:"sign_csr"` // DER
	NodeKeySHA256 string        `json:"node_key_sha256"`
	SignKeySHA256 string        `json:"sign_key_sha256"`
	PeerID        string        `json:"peer_id"`
	NodeAddrs     []string      `json:"node_addrs"`
	Status        RequestStatus `json:"status"`
	Reason        string        `json:"reason,omitempty"`
	SubmittedAt   time.Time     `json:"submitted_at"`
	SubmittedBy   string        `json:"submitted_by"`
	DecidedAt     *time.Time    `json:"decided_at,omitempty"`
	DecidedBy     string        `json:"decided_by,omitempty"`
}

// Clone returns a deep copy of Request.
func (r Request) Clone() Request {
	r.Registration = r.Registration.Clone()
	r.NodeCSR, r.SignCSR = bytes.Clone(r.NodeCSR), bytes.Clone(r.SignCSR)
	r.NodeAddrs = slices.Clone(r.NodeAddrs)
	if r.DecidedAt != nil {
		t := *r.DecidedAt
		r.DecidedAt = &t
	}
	return r
}

// HistoryEntry records one committed change: who, when, what. The history
// is hash-chained (history.go): PrevHash is the previous entry's Hash ("" for
// the first) and Hash is ComputeHash, both lower-case hex.
type HistoryEntry struct {
	Index    uint64    `json:"index"` // Raft log index of the command
	Time     time.Time `json:"time"`  // stamped by the proposer
	Actor    string    `json:"actor"`
	Action   string    `json:"action"` // the command name
	Target   string    `json:"target"` // the request, member, node, service … acted on
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prev_hash,omitempty"`
	Hash     string    `json:"hash,omitempty"`
}

// State is the whole registry. It changes only through Apply. Maps are keyed
// by full identifiers; encoding/json writes map keys sorted and Apply keeps
// every slice in a defined order, so Encode is canonical: two servers that
// applied the same log produce the same bytes.
type State struct {
	Format int `json:"format"`
	// Version is the Raft index of the last command that changed the state;
	// it is the version of the global configuration built from it.
	Version    uint64                 `json:"version"`
	Instance   string                 `json:"instance"`
	CAChain    [][]byte               `json:"ca_chain"` // DER, issuing CA first, root last
	TSAs       []TSA                  `json:"tsas"`
	Policy     Policy                 `json:"policy"`
	Members    map[string]Member      `json:"members"`    // by INSTANCE/CLASS/CODE
	Subsystems map[string]Subsystem   `json:"subsystems"` // by INSTANCE/CLASS/CODE/SUBSYSTEM
	Nodes      map[string]Node        `json:"nodes"`      // by peer ID
	Services   map[string]Service     `json:"services"`   // by service ID
	Groups     map[string]Group       `json:"groups"`     // by code
	Revoked    map[string]RevokedCert `json:"revoked"`    // by serial
	Requests   map[string]Request     `json:"requests"`   // by request ID
	History    []HistoryEntry         `json:"history"`    // append-only
	// RegistryServers are the registry's servers by Raft ID (API URL and
	// TLS certificate fingerprint); Operators the operator tokens by name.
	// Both are left out of the encoding while empty.
	RegistryServers map[string]RegistryServer `json:"registry_servers,omitempty"`
	Operators       map[string]Operator       `json:"operators,omitempty"`
	// JoinTokens are the one-time registry-server join tokens by the
	// SHA-256 of their secret (join.go); left out while empty.
	JoinTokens map[string]JoinToken `json:"join_tokens,omitempty"`

	idx *stateIndex // derived, never encoded; see index
}

// stateIndex holds lookups derived from the state, so Apply stays O(1) in
// the number of members. It is built on first use by Apply (under the FSM's
// write lock) and kept current by the handlers.
type stateIndex struct {
	serials      map[string]bool   // every certificate serial the state holds or has revoked
	pendingPeers map[string]string // peer ID → pending request naming it
}

func (s *State) index() *stateIndex {
	if s.idx != nil {
		return s.idx
	}
	x := &stateIndex{serials: map[string]bool{}, pendingPeers: map[string]string{}}
	for serial := range s.Revoked {
		x.serials[serial] = true
	}
	for _, m := range s.Members {
		if m.SignCert != nil {
			x.serials[m.SignCert.Serial] = true
		}
	}
	for _, n := range s.Nodes {
		x.serials[n.Cert.Serial] = true
	}
	for id, r := range s.Requests {
		if r.Status == RequestPending {
			x.pendingPeers[r.PeerID] = id
		}
	}
	s.idx = x
	return x
}

// NewState returns an empty, uninitialised state.
func NewState() *State {
	return &State{
		Format:     StateFormat,
		Policy:     DefaultPolicy(),
		Members:    map[string]Member{},
		Subsystems: map[string]Subsystem{},
		Nodes:      map[string]Node{},
		Services:   map[string]Service{},
		Groups:     map[string]Group{},
		Revoked:    map[string]RevokedCert{},
		Requests:   map[string]Request{},
		History:    []HistoryEntry{},
		CAChain:    [][]byte{},
		TSAs:       []TSA{},
	}
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	c := *s
	c.CAChain = make([][]byte, len(s.CAChain))
	for i, der := range s.CAChain {
		c.CAChain[i] = bytes.Clone(der)
	}
	c.TSAs = make([]TSA, len(s.TSAs))
	for i, t := range s.TSAs {
		c.TSAs[i] = t.Clone()
	}
	c.Members = cloneMap(s.Members, Member.Clone)
	c.Subsystems = maps.Clone(s.Subsystems)
	c.Nodes = cloneMap(s.Nodes, Node.Clone)
	c.Services = cloneMap(s.Services, Service.Clone)
	c.Groups = cloneMap(s.Groups, Group.Clone)
	c.Revoked = maps.Clone(s.Revoked)
	c.Requests = cloneMap(s.Requests, Request.Clone)
	c.History = slices.Clone(s.History)
	c.RegistryServers = maps.Clone(s.RegistryServers)
	c.Operators = maps.Clone(s.Operators)
	c.JoinTokens = cloneMap(s.JoinTokens, JoinToken.Clone)
	c.idx = nil // rebuilt on first use
	return &c
}

func cloneMap[V any](m map[string]V, f func(V) V) map[string]V {
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = f(v)
	}
	return c
}

// Encode returns the canonical encoding of s (JSON, map keys sorted). It is
// the snapshot format and the input the signed global configuration is
// derived from.
func (s *State) Encode() ([]byte, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("membership: encode state: %w", err)
	}
	return b, nil
}

// DecodeState reads a canonical encoding.
func DecodeState(b []byte) (*State, error) {
	s := NewState()
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%w: state: %v", ErrBadCommand, err)
	}
	if s.Format != StateFormat {
		return nil, fmt.Errorf("%w: state format %d, want %d", ErrBadCommand, s.Format, StateFormat)
	}
	// A state written by hand may say null for an empty collection; make it
	// empty so the decoded state accepts writes and re-encodes canonically.
	nonNil(&s.Members)
	nonNil(&s.Subsystems)
	nonNil(&s.Nodes)
	nonNil(&s.Services)
	nonNil(&s.Groups)
	nonNil(&s.Revoked)
	nonNil(&s.Requests)
	if s.History == nil {
		s.History = []HistoryEntry{}
	}
	s.sealLegacyHistory() // a snapshot from before the history was chained
	if s.CAChain == nil {
		s.CAChain = [][]byte{}
	}
	if s.TSAs == nil {
		s.TSAs = []TSA{}
	}
	return s, nil
}

func nonNil[V any](m *map[string]V) {
	if *m == nil {
		*m = map[string]V{}
	}
}

// SortedKeys returns m's keys in order, for deterministic iteration.
func SortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// serialInUse reports whether serial belongs to a known or revoked
// certificate.
func (s *State) serialInUse(serial string) bool { return s.index().serials[serial] }

// noteSerial records a certificate serial the state now holds.
func (s *State) noteSerial(serial string) { s.index().serials[serial] = true }
