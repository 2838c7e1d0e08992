// Package store is the registry's Raft server: hashicorp/raft with a bbolt
// log and stable store (raft-boltdb/v2) and file snapshots in Config.Dir,
// over a transport from the Config (raft.InmemTransport in tests,
// NewNetworkTransport over a StreamLayer in production), with the thin FSM
// adapter around a state.State (snapshots carry its canonical encoding) and
// an hclog→slog adapter.
//
// It is the only package that touches the FSM. Server.Apply is the one write
// path; reads come from the local state through Server.Read (Sync makes them
// linearizable), WaitApplied, Changed and Watch let others follow it. Leader
// routing lives in one place (Server.onLeader): on a follower, writes and
// voter changes (AddVoter, RemoveServer) go to the leader through the
// Forwarder, so clients never chase leaders.
package store
