// Package delivery is the node's asynchronous document delivery
// (DESIGN.md §5, R-D1..R-D4): a durable outbox on the sender's node, a
// push over /dxl/deliver/1.0.0 to any node of each recipient member, a
// durable inbox on the recipient's node, and a receipt signed by the
// recipient member that travels back.
//
// One purpose: carry a document from one information system to others,
// exactly once into each recipient's inbox, and bring back the proof.
//
//   - store.go, state.go: the bbolt file delivery.db (buckets out,
//     active, queue, in, receipts) and the per-recipient state machine:
//     queued → in_flight → delivered → acknowledged, or undeliverable,
//     cancelled, expired; retry policy and priority order.
//   - batch.go: group commit: the writes that arrive while a commit is
//     on disk share the next transaction and its fsync.
//   - content.go: document content at rest, AES-256-GCM in 64 KiB
//     chunks (a key per file derived from the node's delivery key), read
//     and written as streams, so memory does not grow with the size.
//   - meta.go: the metadata of a document, its checks and its signed
//     form (a detached signature of the sender member over the metadata,
//     which holds the content's SHA-256); receipts.
//   - proto.go, push.go, receive.go, receipt.go: the wire protocol, the
//     sender's loop (priority order, exponential backoff with jitter,
//     fail-over between the recipient member's nodes, resume from the
//     offset the receiver holds), the receiver's handler,
//     acknowledgments and receipts.
//   - api.go, events.go, webhook.go: the information systems' HTTPS
//     endpoints under /dxl/documents, /dxl/inbox and /dxl/events
//     (server-sent events), and signed webhooks.
//   - metrics.go: Prometheus metrics for the node's registry.
//   - record.go: the transport receipt a recipient node signs when it
//     has stored a document, and the events a Recorder keeps in the
//     node's message log and operational records (evidence).
//   - expire.go: the inbox's expiry sweep (waiting documents past their
//     expiry, transfers the sender gave up on) and, when the store
//     opens, the removal of content files a crash left behind.
//   - fault.go: named crash points for fault tests (Config.Fault).
//
// What it needs of the node is declared here as small interfaces (Views,
// Signer, Dialer, Authenticator, Recorder); the node wires them in
// node/delivery.go.
package delivery
