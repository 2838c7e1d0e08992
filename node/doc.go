// Package node will hold the DXL node: the local HTTPS API for an agency's
// information systems, the libp2p host toward other nodes, the message log
// and operational records (DESIGN.md §1, §4–6). It has no code yet.
package node
