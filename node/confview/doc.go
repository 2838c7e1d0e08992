// Package confview is the node's view of the signed global configuration
// (DESIGN.md §3): one verified document indexed for the data path —
// members and their status, subsystems, nodes and their addresses, the
// service catalogue, global groups, the CA chain and revocations. A View
// is immutable; the consumer and provider sides take one per call and pass
// it down.
package confview
