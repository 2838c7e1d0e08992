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
//   - node/confsync: the configuration relay between nodes (GossipSub on
//     /dxl/config/1.0.0/<instance>, catch-up over /dxl/config/1.0.0); the
//     node's globalconf client long-polls the registry, and every version
//     it accepts from there the relay passes on.
//   - services (outside node): the provider's policy gate, services.Gate.
//   - node/envelope, node/auth, node/msglog, node/oprec: the wire format of
//     calls, information-system authentication, the message log and the
//     operational records.
//
// The two sides of a call, each a type built from a Config of small
// interfaces it declares for what it needs of the node:
//
//   - node/consumer (consumer.API): the consumer HTTPS API for information
//     systems (REST /r1/…, SOAP, LGSP routes, /token, /health,
//     /listClients), client authentication, and the call client: sign the
//     request envelope, pick and fail over between provider nodes, verify
//     the response.
//   - node/provider (provider.Provider): the provider side (envelope
//     checks, one call of services.Gate, the backend call bound to the
//     node's lifetime, signed response or error frame), metadata calls and
//     level-2 health with its history.
//   - node/delivery (delivery.Service): asynchronous document delivery:
//     the durable outbox and inbox (delivery.db, encrypted content), the
//     resumable push and signed receipts on /dxl/deliver/1.0.0, and the
//     information systems' /dxl/documents, /dxl/inbox and /dxl/events
//     (docs/delivery.md).
//   - node/exchange: what both sides share: the node's sentinels and its
//     error table (exchange.Codes on internal/errcode, exchange.Status),
//     RemoteError, the error body, and the per-call record in the message
//     log and the operational records behind two small interfaces (a no-op
//     with WithoutLogs).
//
// Imports point one way: node → consumer, provider → exchange, transport,
// confview → envelope, auth, msglog, oprec, services → internal.
//
// In this package, the assembly:
//
//   - delivery.go: opening node/delivery, its node.json section, and
//     the API handler that gives it /dxl/.
//   - node.go, config.go, keys.go, enroll.go: start-up (Open wires the
//     transport, the two sides, the logs, the admin socket and
//     reconciliation; Close), node.json, the sealed keys,
//     init/register/enroll with the registry.
//   - peers.go: the gate and peer states over the current view.
//   - api.go, errors.go, health.go: the node's public names for what the
//     rooms define (headers, Call, sentinels, reports), Do and level-1
//     health.
//   - pins.go: the pinned client certificates of node.json that expire
//     soon, warned about at start and daily.
//   - logging.go: opening the journal (internal/wal), the message log, the
//     operational records and the audit log; metrics.
//   - reconcile.go: signed call summaries exchanged with another member's
//     nodes and their comparison.
//   - admin.go, admin_logs.go: the owner-only admin socket (credentials,
//     peers, logs, records, statistics, reconciliation) and its hash-chained
//     audit log (internal/audit).
//   - accesskeys_admin.go: the signed-access-key authenticator (node/auth)
//     with its seal key, and its admin endpoints /v1/access-keys.
//
// docs/architecture.md describes the whole.
package node
