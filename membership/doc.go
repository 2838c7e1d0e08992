// Package membership is the DXL registry (the DXL Management role,
// DESIGN.md §1–3) as a server process: a Raft cluster of registry servers
// holding the instance, its members, their subsystems (information systems)
// and nodes, the service catalogue, global groups, the TSA list, the CA
// chain, revoked certificate serials, network policy, registration requests
// and an append-only history of every change.
//
// The registry is built in rooms, each importing only the ones below it:
//
//   - membership/state is the deterministic core: the State, the commands
//     and their one type table, Prepare (proposer-side validation and facts
//     derived from CSRs), Apply, the hash-chained history, the global
//     configuration builder and the sentinel errors. No Raft, HTTP or I/O.
//   - membership/store is the Raft server (hashicorp/raft, raft-boltdb,
//     snapshots, transports) with the thin FSM adapter. Server.Apply is the
//     one write path; a follower forwards writes and voter changes to the
//     leader, the one leader-routing mechanism.
//   - membership/client is the registry API client and its request and
//     response types; it links no Raft.
//   - membership/api is the HTTP API (public, admin, join, internal
//     endpoints) and the HTTPS forwarder, over interfaces it declares.
//   - this package assembles one server from its directory: registry.json,
//     Open, InitFirst, JoinCluster, CA and TSA bootstrap, the Publisher of
//     the signed global configuration, CASync and the TLS configurations.
//
// The registry is never in the data path: nodes work from the signed global
// configuration and keep working on a cached copy while the registry is
// down. docs/registry-design.md explains the choices.
package membership
