package globalconf

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// Format is the version of the document encoding this package reads and
// writes. Any change to the fields or to a closed vocabulary (statuses,
// lifecycle states) is a new format: verifiers refuse unknown fields.
const Format = 1

// Duration is a time.Duration that reads and writes as Go duration text
// ("168h0m0s"), as the registry state does. time.Duration.String is the
// canonical form; "168h" parses but does not re-encode identically, so a
// signed document must use the canonical text.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Document is the global configuration as nodes need it: everything beyond
// the anchor that a node learns about the network. Field order is fixed by
// the struct; Normalize sorts every list by its key, so Canonical encodes
// equal documents to identical bytes.
type Document struct {
	Format   int    `json:"format"`
	Instance string `json:"instance"`
	// Version is the registry's Raft index of the last change; it only grows.
	Version uint64 `json:"version"`
	// IssuedAt is when the registry signed; ExpiresAt is when it promises a
	// re-signed copy by. An expired document is still usable up to
	// Policy.MaxConfigAge (see Client.Current).
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`

	Policy          Policy           `json:"policy"`
	RegistryServers []RegistryServer `json:"registry_servers"` // by ID
	CAChain         [][]byte         `json:"ca_chain"`         // DER, issuing CA first, root last; not sorted
	TSAs            []TSA            `json:"tsas"`             // by Name
	Members         []Member         `json:"members"`          // by ID
	Subsystems      []Subsystem      `json:"subsystems"`       // by ID
	Nodes           []Node           `json:"nodes"`            // by PeerID
	Services        []Service        `json:"services"`         // by Provider, Code, Version
	Groups          []Group          `json:"groups"`           // by Code
	Revoked         []RevokedCert    `json:"revoked"`          // by Serial
}

// Policy holds the network-wide parameters nodes enforce.
type Policy struct {
	// Default per-client rate limits a provider node applies when a service
	// sets none.
	RateLimitReadsPerMin  int `json:"rate_limit_reads_per_min"`
	RateLimitWritesPerMin int `json:"rate_limit_writes_per_min"`
	// MaxClockSkew is the largest accepted difference between a peer's time
	// and the local clock (envelopes; and a configuration's issued_at).
	MaxClockSkew Duration `json:"max_clock_skew"`
	// TimestampInterval is how often a node time-stamps its message-log batch.
	TimestampInterval Duration `json:"timestamp_interval"`
	// ConfigValidity is ExpiresAt - IssuedAt: how soon the registry promises
	// a re-signed copy.
	ConfigValidity Duration `json:"config_validity"`
	// MaxConfigAge is how long after IssuedAt a node keeps working on a
	// configuration it could not refresh. Generous on purpose: an expired
	// configuration must never stop a whole network.
	MaxConfigAge Duration `json:"max_config_age"`
}

// DefaultPolicy returns the defaults: 1000 reads and 300 writes per minute,
// 2 minutes clock skew, a 1-minute timestamp interval, 24 hours validity and
// 7 days maximum age.
func DefaultPolicy() Policy {
	return Policy{
		RateLimitReadsPerMin:  1000,
		RateLimitWritesPerMin: 300,
		MaxClockSkew:          Duration(2 * time.Minute),
		TimestampInterval:     Duration(time.Minute),
		ConfigValidity:        Duration(7 * 24 * time.Hour),
		MaxConfigAge:          Duration(14 * 24 * time.Hour),
	}
}

// RegistryServer is one registry server nodes may fetch from. Clients try
// these besides the anchor's URLs, so servers added later are found.
type RegistryServer struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

// TSA is a time-stamping authority nodes may use.
type TSA struct {
	Name    string `json:"name"`
	URL     string `json:"url"`
	CertDER []byte `json:"cert"`
}

// Member is an admitted agency.
type Member struct {
	ID     string             `json:"id"` // INSTANCE/CLASS/CODE
	Name   string             `json:"name"`
	Status ident.MemberStatus `json:"status"`
	// SealKey is the Ed25519 public key of the member's current signing
	// certificate, the key Secret bodies are sealed to (node/envelope,
	// seal.go). It is listed only for a member whose registration (Form
	// 01) declares secret data and whose signing key is Ed25519: nodes
	// carry a Secret call only between two members that have one.
	SealKey []byte `json:"seal_key,omitempty"`
}

// Subsystem is a member's information system.
type Subsystem struct {
	ID     string                `json:"id"` // INSTANCE/CLASS/CODE/SUBSYSTEM
	Status ident.SubsystemStatus `json:"status"`
	// Documents is its declaration for asynchronous delivery (nil: none).
	Documents *Documents `json:"documents,omitempty"`
}

// Member returns the subsystem's member ID, INSTANCE/CLASS/CODE.
func (s Subsystem) Member() string {
	if i := strings.LastIndexByte(s.ID, '/'); i > 0 {
		return s.ID[:i]
	}
	return ""
}

// Node is a DXL node: a libp2p peer bound to a member by its auth certificate.
type Node struct {
	PeerID     string           `json:"peer_id"`
	Addrs      []string         `json:"addrs"` // multiaddrs, sorted
	Member     string           `json:"member"`
	CertSHA256 string           `json:"cert_sha256"` // SHA-256 of the node-auth certificate DER, hex
	CertSerial string           `json:"cert_serial"` // lower-case hex, as ca.SerialHex
	Status     ident.NodeStatus `json:"status"`
}

// Service is a service catalogue entry, PROVIDER/CODE[/VERSION].
type Service struct {
	Provider          string          `json:"provider"` // subsystem ID
	Code              string          `json:"code"`
	Version           string          `json:"version,omitempty"`
	Lifecycle         ident.Lifecycle `json:"lifecycle"`
	Sunset            *time.Time      `json:"sunset,omitempty"`
	DeprecatedAt      *time.Time      `json:"deprecated_at,omitempty"`
	DescriptionSHA256 string          `json:"description_sha256,omitempty"`
	// Classification is the service version's data level (R-K1): public,
	// internal, secret or top_secret. Nodes refuse top_secret on both
	// sides; empty (a document from before levels) reads as internal.
	Classification ident.Classification `json:"classification,omitempty"`
	// SchemaType is the language of the data type's schemas (SchemaJSON or
	// SchemaXSD), set when the entry names a schema digest;
	// RequestSchemaSHA256 and ResponseSchemaSHA256 are the lower-case hex
	// SHA-256 of the request and response body schemas as published. The
	// provider node refuses calls to the version while its own schema
	// files hash to something else.
	SchemaType           string `json:"schema_type,omitempty"`
	RequestSchemaSHA256  string `json:"request_schema_sha256,omitempty"`
	ResponseSchemaSHA256 string `json:"response_schema_sha256,omitempty"`
}

// Schema languages of a catalogue entry (Service.SchemaType).
const (
	SchemaJSON = "json" // JSON Schema 2020-12
	SchemaXSD  = "xsd"  // XML Schema
)

// ID returns PROVIDER/CODE[/VERSION].
func (s Service) ID() string {
	id := s.Provider + "/" + s.Code
	if s.Version != "" {
		id += "/" + s.Version
	}
	return id
}

// Group is a global group of subsystems.
type Group struct {
	Code    string   `json:"code"`
	Members []string `json:"members"` // subsystem IDs, sorted
}

// RevokedCert is a revoked certificate serial. Certificate status travels in
// the configuration so the data path needs no OCSP round trip.
type RevokedCert struct {
	Serial    string    `json:"serial"` // lower-case hex, as ca.SerialHex
	Reason    string    `json:"reason"` // RFC 5280 reason name
	RevokedAt time.Time `json:"revoked_at"`
}

// Normalize puts d in canonical form in place: Format set if zero, times in
// UTC (monotonic reading dropped), nil lists made empty, every list sorted
// by its key. It does not remove duplicates; Validate refuses them.
func (d *Document) Normalize() {
	if d.Format == 0 {
		d.Format = Format
	}
	d.IssuedAt, d.ExpiresAt = d.IssuedAt.UTC(), d.ExpiresAt.UTC()
	nonNil(&d.RegistryServers)
	nonNil(&d.CAChain)
	nonNil(&d.TSAs)
	nonNil(&d.Members)
	nonNil(&d.Subsystems)
	nonNil(&d.Nodes)
	nonNil(&d.Services)
	nonNil(&d.Groups)
	nonNil(&d.Revoked)
	slices.SortFunc(d.RegistryServers, func(a, b RegistryServer) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(d.TSAs, func(a, b TSA) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.Members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(d.Subsystems, func(a, b Subsystem) int { return strings.Compare(a.ID, b.ID) })
	for i := range d.Nodes {
		nonNil(&d.Nodes[i].Addrs)
		slices.Sort(d.Nodes[i].Addrs)
	}
	slices.SortFunc(d.Nodes, func(a, b Node) int { return strings.Compare(a.PeerID, b.PeerID) })
	for i := range d.Services {
		if s := d.Services[i].Sunset; s != nil {
			u := s.UTC()
			d.Services[i].Sunset = &u
		}
		if s := d.Services[i].DeprecatedAt; s != nil {
			u := s.UTC()
			d.Services[i].DeprecatedAt = &u
		}
	}
	slices.SortFunc(d.Services, func(a, b Service) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Code, b.Code), strings.Compare(a.Version, b.Version))
	})
	for i := range d.Groups {
		nonNil(&d.Groups[i].Members)
		slices.Sort(d.Groups[i].Members)
	}
	slices.SortFunc(d.Groups, func(a, b Group) int { return strings.Compare(a.Code, b.Code) })
	for i := range d.Revoked {
		d.Revoked[i].RevokedAt = d.Revoked[i].RevokedAt.UTC()
	}
	slices.SortFunc(d.Revoked, func(a, b RevokedCert) int { return strings.Compare(a.Serial, b.Serial) })
}

func nonNil[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}

// Canonical normalizes d in place and returns its canonical encoding: JSON
// with the struct's field order, no insignificant whitespace, lists sorted,
// times in UTC RFC 3339 with up to nine fraction digits (trailing zeros
// dropped, as time.RFC3339Nano), byte strings in standard padded base64 and
// <, >, & escaped as \u003c, \u003e, \u0026 (encoding/json's defaults).
// These are the bytes that are signed.
func (d *Document) Canonical() ([]byte, error) {
	d.Normalize()
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("%w: encode: %v", ErrMalformed, err)
	}
	return b, nil
}

// ParseDocument reads a document strictly (unknown fields and trailing data
// refused) without checking that it is canonical or valid.
func ParseDocument(b []byte) (*Document, error) {
	var d Document
	if err := decodeStrict(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// anything after the value.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON value", ErrMalformed)
	}
	return nil
}

// Expired reports whether now is past ExpiresAt. An expired document is
// still verified and usable; the Client decides by MaxConfigAge.
func (d *Document) Expired(now time.Time) bool { return now.After(d.ExpiresAt) }

// Age is how long ago the document was issued (never negative).
func (d *Document) Age(now time.Time) time.Duration { return max(now.Sub(d.IssuedAt), 0) }

// CACertificates parses CAChain.
func (d *Document) CACertificates() ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(d.CAChain))
	for i, der := range d.CAChain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: ca_chain[%d]: %v", ErrMalformed, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// IsRevoked reports whether the certificate serial (lower-case hex, as in
// RevokedCert) is on the revoked list. d must be normalized (a verified
// document is).
func (d *Document) IsRevoked(serial string) bool {
	_, ok := slices.BinarySearchFunc(d.Revoked, serial, func(r RevokedCert, s string) int { return strings.Compare(r.Serial, s) })
	return ok
}

// Validation limits.
const (
	maxNameLen = 256
	maxURLLen  = 2048
	maxAddrs   = 64
)

var reasons = []string{"unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", "removeFromCRL", "privilegeWithdrawn", "aACompromise"}

// fingerprint is the SHA-256 of a certificate's DER, lower-case hex (the
// same as ca.Fingerprint, without importing the CA).
func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}
