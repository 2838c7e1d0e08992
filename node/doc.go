// Package node is the DXL node (DESIGN.md §1, §4–6): one or more per
// agency, between its information systems and the other agencies' nodes.
// Node assembles the rooms below and owns their lifetime (Open, Close).
//
// Rooms of their own:
//
//   - node/transport: the libp2p host, the connection gater (only usable
//     nodes of active members, on both sides), peer tracking and probe,
//     resource-manager scopes per protocol, the one frame codec of
//     /dxl/call/1.0.0 and /dxl/reconcile/1.0.0 and typed error frames.
//   - node/confview: the current signed global configuration indexed for
//     the data path (members, nodes, catalogue, CA chain, revocations); one
//     immutable view per call.
//   - services (outside node): the provider's policy gate, services.Gate.
//   - node/envelope, node/auth, node/msglog, node/oprec: the wire format of
//     calls, information-system authentication, the message log and the
//     operational records.
//
// In this package:
//
//   - node.go, config.go, keys.go, enroll.go: start-up, node.json, the
//     sealed keys, init/register/enroll with the registry.
//   - peers.go: the gate and peer states over the current view.
//   - consumer.go: the consumer HTTPS API for information systems (REST
//     /r1/…, SOAP, LGSP routes, /token, /health), client authentication.
//   - call.go: the call client: sign the request envelope, pick and fail
//     over between provider nodes, verify the response.
//   - provider.go, meta.go, health.go: the provider side (envelope checks,
//     one call of services.Gate, the backend call bound to the node's
//     lifetime, signed response), metadata calls and level-1/level-2
//     health.
//   - logging.go: what each call leaves in the message log and the
//     operational records, behind two small interfaces (a no-op with
//     WithoutLogs); metrics; refusal of exchanges during a long TSA outage.
//   - reconcile.go: signed call summaries exchanged with another member's
//     nodes and their comparison.
//   - admin.go, admin_logs.go: the owner-only admin socket (credentials,
//     peers, logs, records, statistics, reconciliation) and its hash-chained
//     audit log (internal/audit).
//   - errors.go: the sentinels and their code table (Code, Status).
//
// docs/architecture.md describes the whole.
package node
