// Package client is the Go client of the DXL registry HTTP API
// (docs/registry-api.yaml) and owns its request and response types. It
// depends on membership/state for the domain types only, never on Raft, so
// nodes and the CLI can talk to the registry without linking the server.
package client
