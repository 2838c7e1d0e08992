package ident

// The status enums shared by the registry's state, the signed global
// configuration and the node: one definition, the same strings everywhere.

// MemberStatus is where a member is. pending → active ⇄ suspended;
// active|suspended → revoked. A pending member is not in the global
// configuration; one that is rejected or withdrawn is removed.
type MemberStatus string

// Member statuses.
const (
	MemberPending   MemberStatus = "pending"
	MemberActive    MemberStatus = "active"
	MemberSuspended MemberStatus = "suspended"
	MemberRevoked   MemberStatus = "revoked"
)

// SubsystemStatus is where a subsystem (information system) is; cancelled
// is final.
type SubsystemStatus string

// Subsystem statuses.
const (
	SubsystemActive    SubsystemStatus = "active"
	SubsystemCancelled SubsystemStatus = "cancelled"
)

// NodeStatus is where a node is. Only an active node may connect;
// cancelled and revoked are final and put the node's certificate serial on
// the revoked list.
type NodeStatus string

// Node statuses.
const (
	NodeActive    NodeStatus = "active"
	NodeCancelled NodeStatus = "cancelled"
	NodeRevoked   NodeStatus = "revoked"
)

// Lifecycle is a service version's state in the catalogue: published →
// deprecated (with a sunset time) → retired, or published → retired.
type Lifecycle string

// Service lifecycle states.
const (
	ServicePublished  Lifecycle = "published"
	ServiceDeprecated Lifecycle = "deprecated"
	ServiceRetired    Lifecycle = "retired"
)
