package state

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
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

	CmdSetDocuments CommandType = 22
	CmdSubmitSystem CommandType = 23
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
	CmdSetDocuments:        {"set_documents", func() Command { return new(SetDocuments) }},
	CmdSubmitSystem:        {"submit_system", func() Command { return new(SubmitSystem) }},
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
// hash (and the level and schemas, when named) of a published one.
type PublishService struct {
	Header
	Subsystem         string `json:"subsystem"` // INSTANCE/CLASS/CODE/SUBSYSTEM
	Code              string `json:"code"`
	Version           string `json:"version,omitempty"`
	DescriptionSHA256 string `json:"description_sha256"` // hex
	// Classification is the service version's data level; empty means
	// ident.DefaultClassification for a new entry and "unchanged" for an
	// update. See classification.go.
	Classification Classification `json:"classification,omitempty"`
	// Schemas are the digests of the data type's schemas; none means
	// none for a new entry and "unchanged" for an update. See schema.go.
	Schemas
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
