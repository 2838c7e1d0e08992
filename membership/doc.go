// Package membership will hold the registry: the Raft-replicated member,
// subsystem, node and service state and the signed global configuration
// (DESIGN.md §1–3). It has no code yet.
package membership
