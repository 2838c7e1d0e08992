// Package transport is how DXL nodes reach each other: the libp2p host
// (Host), its connection gate (only usable nodes of the current signed
// configuration, asked through Config.Admit), the reachability of the other
// nodes (Peers, Probe, Suspect), go-libp2p resource-manager scopes per
// protocol (ServiceCall, ServiceReconcile, ServiceClaim, ServiceConfig, with memory reserved for each
// stream's buffers and, through Reserve, for the bodies it holds), and the
// one framing codec every protocol uses: node/envelope's frames, with
// pooled buffers (GetReader, WriteMessage) and bodies as chunk frames
// (ReadBody checks each chunk's length before reading it).
//
// # Protocols
//
// /dxl/call/1.0.0: a request frame, the body as chunk frames and an end
// frame; the answer is a response frame and the body likewise, or one error
// frame. /dxl/reconcile/1.0.0: a request frame (JSON); the answer is two
// response frames (certificate, signature) and the signed summary as a
// body, or one error frame. /dxl/claim/1.0.0, between nodes of one
// member: a request frame (request ID, 16 bytes | signing time, Unix ns,
// int64 big-endian); the answer is an empty response frame (marked) or
// one error frame (already seen: envelope_replay). /dxl/config/1.0.0
// (node/confsync): a request frame (the asker's configuration version,
// uint64 big-endian); the answer is a response frame (the answerer's
// version) and, as a body, its signed configuration if newer, else an
// empty body.
//
// # Error frames
//
// An error frame's payload is an ErrorFrame:
//
//	0x00 | code length (1 byte) | code | retry-after seconds (uint32, big-endian) | message
//
// The leading zero byte tells it from the earlier text form "code: message",
// which DecodeError still reads (with no retry-after: it is never parsed
// out of text).
package transport
