package client

import (
	"time"

	"github.com/dxl-network/dxl/membership/state"
)

// JoinTokensPath is where an admin mints join tokens.
const JoinTokensPath = "/v1/admin/join-tokens"

// BackupPath streams a backup of the server asked (admin role; a tar
// archive, membership.RegistryBackupFormat).
const BackupPath = "/v1/admin/backup"

type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// SubmitRequest is the body of POST /v1/registrations.
type SubmitRequest struct {
	Member       string             `json:"member"` // INSTANCE/CLASS/CODE
	Registration state.Registration `json:"registration"`
	NodeCSR      string             `json:"node_csr"` // PEM, the node's auth key (its libp2p identity)
	SignCSR      string             `json:"sign_csr"` // PEM, the member's signing key
	NodeAddrs    []string           `json:"node_addrs"`
}

// RegistrationStatus is what the public learns about a request.
type RegistrationStatus struct {
	RequestID   string              `json:"request_id"`
	Member      string              `json:"member"`
	Status      state.RequestStatus `json:"status"`
	Reason      string              `json:"reason,omitempty"`
	SubmittedAt time.Time           `json:"submitted_at"`
	DecidedAt   *time.Time          `json:"decided_at,omitempty"`
	Index       uint64              `json:"index,omitempty"`
}

// RegistrationCertificates is GET /v1/registrations/{id}/certificates: the
// certificates issued on approving a request, so the applicant can fetch
// them itself. Certificates are public; the request ID is the capability.
type RegistrationCertificates struct {
	RequestID string `json:"request_id"`
	Member    string `json:"member"`
	PeerID    string `json:"peer_id"`
	NodeCert  string `json:"node_cert_pem"` // node-auth certificate and intermediate(s), as ApproveResponse
	SignCert  string `json:"sign_cert_pem"` // member-sign certificate and intermediate(s)
	CAChain   string `json:"ca_chain_pem"`  // the network CA chain, issuing CA first, root last
}

// StatusResponse is GET /v1/admin/status.
type StatusResponse struct {
	state.ClusterStatus
	PublishedVersion uint64                 `json:"published_version"`
	RegistryServers  []state.RegistryServer `json:"registry_servers"`
}

// RequestSummary is one row of GET /v1/admin/registrations.
type RequestSummary struct {
	RequestID   string              `json:"request_id"`
	Member      string              `json:"member"`
	Name        string              `json:"name"`
	Status      state.RequestStatus `json:"status"`
	SubmittedAt time.Time           `json:"submitted_at"`
	DecidedBy   string              `json:"decided_by,omitempty"`
}

// ApproveResponse is the answer to an approval.
type ApproveResponse struct {
	RequestID  string `json:"request_id"`
	Member     string `json:"member"`
	PeerID     string `json:"peer_id"`
	NodeSerial string `json:"node_cert_serial"`
	SignSerial string `json:"sign_cert_serial"`
	NodeCert   string `json:"node_cert_pem"` // certificate and intermediate
	SignCert   string `json:"sign_cert_pem"`
	Index      uint64 `json:"index"`
}

// AddNodeRequest is the body of POST /v1/admin/nodes: a further node for
// an active member (a replica, or a replacement), from the node's CSR.
type AddNodeRequest struct {
	Member  string   `json:"member"`   // INSTANCE/CLASS/CODE
	NodeCSR string   `json:"node_csr"` // PEM, the node's auth key (its libp2p identity)
	Addrs   []string `json:"addrs"`
}

// AddNodeResponse is the answer to POST /v1/admin/nodes.
type AddNodeResponse struct {
	Member     string `json:"member"`
	PeerID     string `json:"peer_id"`
	NodeSerial string `json:"node_cert_serial"`
	NodeCert   string `json:"node_cert_pem"` // certificate and intermediate
	Index      uint64 `json:"index"`
}

type ReasonBody struct {
	Reason string `json:"reason"`
}

// MemberDetail is GET /v1/admin/members/{id}.
type MemberDetail struct {
	state.Member
	Subsystems []state.Subsystem `json:"subsystems"`
	Nodes      []state.Node      `json:"nodes"`
}

// PublishServiceRequest is the body of POST /v1/admin/services/publish:
// the service SUBSYSTEM-ID/CODE[/VERSION], the SHA-256 (hex) of its
// description and its classification (public, internal, secret or
// top_secret; empty: internal for a new service, unchanged for an update),
// and the SHA-256 (hex) of the data type's request and response schemas
// with their type (json, the default, or xsd; none named: none for a new
// service, unchanged for an update).
type PublishServiceRequest struct {
	Subsystem            string `json:"subsystem"` // INSTANCE/CLASS/CODE/SUBSYSTEM
	Code                 string `json:"code"`
	Version              string `json:"version,omitempty"`
	DescriptionSHA256    string `json:"description_sha256"`
	Classification       string `json:"classification,omitempty"`
	SchemaType           string `json:"schema_type,omitempty"`
	RequestSchemaSHA256  string `json:"request_schema_sha256,omitempty"`
	ResponseSchemaSHA256 string `json:"response_schema_sha256,omitempty"`
}

// SetDocumentsRequest is the body of POST /v1/admin/subsystems/documents:
// what a subsystem takes by asynchronous delivery (docs/delivery.md).
type SetDocumentsRequest struct {
	Subsystem   string   `json:"subsystem"`         // INSTANCE/CLASS/CODE/SUBSYSTEM
	Accepts     []string `json:"accepts,omitempty"` // data types; empty: any
	MemberInbox bool     `json:"member_inbox,omitempty"`
}

// MintJoinTokenResponse is the answer of POST /v1/admin/join-tokens.
type MintJoinTokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	APIURL    string    `json:"api_url"`
	Index     uint64    `json:"index"`
}

// RemoveServerResponse is the answer of a server removal.
type RemoveServerResponse struct {
	ID    string `json:"id"`
	Index uint64 `json:"index"`
}
