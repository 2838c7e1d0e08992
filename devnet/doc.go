// Package devnet assembles a complete DXL network in one process, on
// loopback, from the real parts: a registry server (Raft, CA, signed global
// configuration), the TSA, agency nodes admitted through the registry's own
// admission workflow, and a sample provider backend. `dxl demo` runs it for
// people; the node's end-to-end tests and benchmarks run it for code.
package devnet
