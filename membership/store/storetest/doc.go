// Package storetest runs in-process registry clusters for tests: on-disk
// bbolt stores in t.TempDir, servers wired by raft.InmemTransport (or
// loopback TCP) with an in-process forwarder, and helpers to kill, restart
// and partition servers and to wait for a leader or converged states. Only
// tests import it.
package storetest
