// Package api is a registry server's HTTP API (docs/registry-api.yaml): the
// public endpoints, the operators' admin endpoints, the join workflow's
// endpoints and the internal endpoints registry servers forward writes and
// voter changes to, with HTTPForwarder as their sending end. It depends on
// the small interfaces it declares (Store, Daemon, Issuer, ConfigPublisher,
// deps.go), not on the Raft server, and on membership/client for the wire
// types.
package api
