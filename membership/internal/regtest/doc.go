// Package regtest holds the test fixtures the registry packages share: an
// in-memory CA, applicants with their keys and CSRs, a valid registration
// and a Harness that applies commands to a state.State the way a server
// does, without Raft. Only tests import it.
package regtest
