package state

// Result is what a committed command produced.
type Result struct {
	Index  uint64 `json:"index"`  // the Raft log index it was committed at
	Target string `json:"target"` // what it acted on: request ID, member, node, service …
}

// ServerInfo describes one member of the Raft configuration.
type ServerInfo struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"` // voter, nonvoter, staging
	Leader   bool   `json:"leader"`
}

// Status is a server's view of the cluster.
type ClusterStatus struct {
	ID            string       `json:"id"`
	Address       string       `json:"address"`
	State         string       `json:"state"` // leader, follower, candidate, shutdown
	LeaderID      string       `json:"leader_id"`
	LeaderAddress string       `json:"leader_address"`
	Term          uint64       `json:"term"`
	Servers       []ServerInfo `json:"servers"`
	LastIndex     uint64       `json:"last_index"`    // last entry in the local log
	CommitIndex   uint64       `json:"commit_index"`  // as far as this server knows
	AppliedIndex  uint64       `json:"applied_index"` // handed to the FSM
	// ConfigVersion is the Raft index of the last applied command that
	// changed the registry: the version of the global configuration.
	ConfigVersion uint64 `json:"config_version"`
}

// VoterChange is a leader-only change of the Raft configuration: Op "add"
// adds (or re-addresses) voter ID at Addr, Op "remove" removes server ID.
type VoterChange struct {
	Op   string `json:"op"`
	ID   string `json:"id"`
	Addr string `json:"raft_addr,omitempty"`
}

// Voter change operations.
const (
	VoterAdd    = "add"
	VoterRemove = "remove"
)
