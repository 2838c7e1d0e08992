// Package node will hold the DXL node: the local HTTPS API for an agency's
// information systems, the libp2p host toward other nodes, the message log
// and operational records (DESIGN.md §1, §4–6). Its wire format, the signed
// call envelopes and the stream framing, is in node/envelope; how
// information systems authenticate to it is in node/auth; the node itself
// comes next.
package node
