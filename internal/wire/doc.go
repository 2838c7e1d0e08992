// Package wire reads the big-endian binary layouts DXL signs and stores
// (envelopes, message-log records): a Decoder over a byte slice that
// turns every short read into one failure, checked once at the end.
package wire
