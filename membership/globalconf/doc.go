// Package globalconf is DXL's signed global configuration (DESIGN.md §3):
// the document every node learns the network from, its canonical encoding,
// signing and verification, the anchor a node starts from, the client that
// keeps a node's copy current, and the HTTP handler registry servers serve
// it with. It does not import the registry (membership): the registry builds
// a Document from its state and serves it with Handler; nodes use Client
// without pulling in Raft.
//
// The pieces:
//
//   - Document (document.go): instance, version (the registry's Raft index),
//     issued_at and expires_at, members, subsystems, nodes, services, global
//     groups, TSAs, CA chain, revoked serials, registry servers and policy.
//     Canonical normalizes (lists sorted by key, times in UTC) and encodes
//     it as compact JSON with a fixed field order; equal documents give
//     identical bytes.
//   - Sign and Verify (sign.go): the signature covers
//     "DXL-GLOBAL-CONFIG-v1\x00" || canonical bytes; the wire form (Signed)
//     is JSON carrying the bytes, the signature, the algorithm and the
//     signer's certificate. Verify accepts a configuration only from a
//     certificate the anchor names, chaining to the anchor's root, for the
//     anchor's instance, canonically encoded.
//   - Anchor (anchor.go): instance, CA root(s), config-signing
//     certificate(s), registry URLs; anchor.json on disk.
//   - Client (client.go): fetches from any registry server over HTTPS that
//     trusts only the anchor's root, verifies, refuses older versions,
//     caches the signed bytes on disk (a restarted node keeps its
//     configuration while the registry is down) and reports the age of what
//     it holds; Current returns ErrTooOld past the maximum age instead of
//     failing the node.
//   - Handler (handler.go): GET /v1/global-config with ETag "<version>" and
//     If-None-Match → 304; with WithChanges (longpoll.go) a conditional GET
//     with ?wait= is held until a newer version is signed (a long-poll),
//     and Run with WithLongPoll (watch.go) uses it as its main loop.
//
// docs/global-config.md describes the format, the rules and the HTTP API.
package globalconf
