// Package confsync relays the signed global configuration between nodes,
// so a change approved at the registry reaches every node within moments
// of the first node that has it, and a node cut off from the registry
// still learns it (DESIGN.md §3: the configuration is signed, so any peer
// may carry it).
//
// Two paths, both over the node's libp2p host (node/transport, whose gate
// admits only nodes of the current configuration):
//
//   - GossipSub on the topic /dxl/config/1.0.0/<instance> (Topic). A node
//     that accepts a newer version from anywhere but the topic (the
//     registry, or a peer's catch-up answer) publishes the signed bytes (after a short random delay, so that when every
//     node got it from the registry at once, the first copy on the topic
//     makes the other publications duplicates that are never sent).
//     Message IDs are the SHA-256 of the bytes: the same copy published by
//     many nodes is one message. Messages carry no pubsub author or
//     signature; the registry's signature is what counts. Every message
//     goes through a topic validator before it is delivered or forwarded:
//     larger than Config.MaxMessage, or refused by globalconf's Accept
//     (bad signature, other instance, malformed …): rejected, logged, not
//     forwarded; older than the held version, or an earlier signing of it:
//     ignored, not forwarded; the held copy or a newer one it accepted:
//     forwarded. Accepting it goes through the node's OnUpdate as after a
//     fetch.
//   - /dxl/config/1.0.0 (transport.ConfigProtocol), to catch up: when a
//     peer joins the topic, the node asks it, one peer at a time, for its
//     configuration if newer than its own version, and offers the answer
//     to the same checks. A node that was down during a change, or came up
//     while the registry is unreachable, gets it from any peer that has it.
//     Every Config.Resync it also asks one random topic peer, so a copy
//     pubsub did not bring still arrives.
//
// docs/global-config.md ("Propagation") describes the rules and the
// measurements.
package confsync
