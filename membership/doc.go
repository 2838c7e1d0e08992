// Package membership is the DXL registry (the DXL Management role,
// DESIGN.md §1–3): a Raft cluster of registry servers holding the instance,
// its members, their subsystems (information systems) and nodes, the
// service catalogue, global groups, the TSA list, the CA chain, revoked
// certificate serials, network policy, registration requests and an
// append-only history of every change.
//
// The pieces, from the bottom:
//
//   - State (state.go) is the whole registry, in memory. Its Encode is
//     canonical (sorted map keys, slices in a defined order) and is both the
//     snapshot format and what the signed global configuration is built
//     from. Registration (registration.go) holds the Form 01 / Form 02
//     fields of a registration request.
//   - Commands (command.go) are the only way State changes: one type per
//     write, encoded as a type byte followed by JSON. Before a command
//     enters the log the proposing server validates what needs no state and
//     derives facts from CSRs and certificates (key hashes, peer IDs,
//     serials); certificate issuance by the CA also happens there.
//   - State.apply (apply.go) executes a committed command. It is
//     deterministic: time comes from the command, it does no I/O and no
//     cryptography beyond the SHA-256 that chains the history (history.go),
//     and a refused command (duplicate member, unknown member,
//     key mismatch, illegal transition …) returns a sentinel error as a value
//     and leaves the state unchanged.
//   - fsm (fsm.go) is the thin raft.FSM adapter; snapshots carry the
//     canonical encoding.
//   - Server (server.go) runs hashicorp/raft with a bbolt log and stable
//     store (raft-boltdb/v2) and file snapshots in Config.Dir, over a
//     transport from the Config: raft.InmemTransport in tests,
//     NewNetworkTransport over a StreamLayer (plain TCP now, mTLS through the
//     same seam later) in production. Server.Apply is the one write path:
//     on the leader it commits through Raft, on a follower it hands the
//     command to a Forwarder, the only place forwarding happens. Reads come
//     from the local state; Sync makes them linearizable.
//
// The registry is never in the data path: nodes work from the signed global
// configuration and keep working on a cached copy while the registry is
// down. docs/registry-design.md explains the choices.
package membership
