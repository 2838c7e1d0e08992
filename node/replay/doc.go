// Package replay keeps a request executed at most once per provider
// member within the replay window (confview.ReplayWindow), across restarts
// and across the member's nodes.
//
// # Durable guard
//
// Guard is an envelope.ReplayGuard that remembers request IDs in memory
// (envelope.ReplayCache, for the duplicate check) and in the node's bbolt
// database, so a restart forgets nothing. Mark returns only after the ID
// is durable: in the node's journal (WithJournal, internal/wal; the
// commit to the database follows in the background and Open replays what
// a crash left only in the journal), or, without one, committed (fsync).
// Concurrent marks share one sync (group commit), not one per call.
//
// Storage: bucket "replay", one sub-bucket per time slot of half the
// window (keyed by the slot number, big-endian), each holding request ID
// (16 bytes) → signing time (Unix ns, 8 bytes). Slots whose every ID has
// expired are deleted whole. Open loads the live slots into memory.
//
// # One node decides each ID
//
// Order ranks a member's nodes for a request ID by rendezvous hashing
// (highest SHA-256(peer ID || request ID) first). The first is the ID's
// owner: consumers send to it first, and a provider node that is not the
// owner claims the ID from it (the provider's /dxl/claim protocol) before
// the backend sees the request. The owner marks the ID in its own Guard,
// so a second send of the ID to any node of the member is refused.
package replay
