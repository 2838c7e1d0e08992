// Package node is the DXL node (DESIGN.md §1, §4–6): one or more per
// agency, between its information systems and the other agencies' nodes.
//
//   - node.go, config.go, keys.go, enroll.go: start-up, node.json, the
//     sealed keys, init/register/enroll with the registry.
//   - view.go: the current signed global configuration, indexed for the
//     data path (members, nodes, catalogue, CA chain, revocations).
//   - p2p.go: the libp2p host, the connection gater (only usable nodes of
//     active members, on both sides) and the peer probe.
//   - consumer.go: the consumer HTTPS API for information systems (REST
//     /r1/…, SOAP, LGSP routes, /token, /health), client authentication.
//   - call.go: the call client: sign the request envelope, pick and fail
//     over between provider nodes, verify the response (/dxl/call/1.0.0).
//   - provider.go, meta.go, health.go: the provider side (envelope checks,
//     ACL, rate limits, backend call, signed response), metadata calls and
//     level-1/level-2 health.
//   - logging.go: what each call leaves in the message log (node/msglog,
//     both envelopes, Merkle batch timestamps, evidence) and the
//     operational records (node/oprec, metrics, health history); refusal
//     of exchanges during a long TSA outage.
//   - reconcile.go: signed call summaries exchanged with another member's
//     nodes (/dxl/reconcile/1.0.0) and their comparison.
//   - admin.go, admin_logs.go: the owner-only admin socket (credentials,
//     peers, logs, records, statistics, reconciliation) and its hash-chained
//     audit log (internal/audit).
//
// The wire format of calls is in node/envelope; how information systems
// authenticate is in node/auth. docs/architecture.md describes the whole.
package node
