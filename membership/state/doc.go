// Package state is the deterministic core of the DXL registry: the State
// (instance, members, subsystems, nodes, registration requests, services,
// groups, operators, registry servers, join tokens, policy and the
// hash-chained history), the commands that are the only way it changes, and
// the one command-type table (command.go) that gives each its log type byte.
//
// Before a command enters the log the proposing server calls its Prepare,
// which validates what needs no state and derives facts from CSRs and
// certificates (key hashes, peer IDs, serials). State.Apply then executes a
// committed command deterministically: time comes from the command, it does
// no I/O and no cryptography beyond the SHA-256 that chains the history, and
// a refused command returns a sentinel error (errors.go) as a value and
// leaves the state unchanged. State.GlobalConfig builds the global
// configuration document from the state.
//
// The package knows nothing of Raft, HTTP or files.
package state
