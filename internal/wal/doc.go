// Package wal is a node's journal: one append-only, checksummed file
// sequence shared by the stores whose writes must be on record before a
// call is answered (the message log, the operational records, the replay
// guard), so that the answer waits for one small append and not for a
// bbolt commit of each store.
//
// # Use
//
// A store appends an entry on its stream (one byte naming the store) and
// gets a log sequence number (LSN); the entry has been written to the
// operating system when Append returns. Durable(ctx, lsn) waits until the
// entry is as safe as the journal's Mode promises: with SyncEach it waits
// for an fdatasync that covers it (concurrent waiters share one), with
// SyncInterval it returns at once and a background fdatasync runs every
// Interval. The store commits the same writes to its bbolt file later, in
// large groups, recording in that commit the highest LSN it covers, and
// tells the journal with Applied. At Open the store asks Replay for its
// entries after that LSN and commits them: what a crash interrupted is
// finished before the store serves.
//
// # What survives what
//
//   - A crash of the node's process (kill -9, a panic, the OOM killer): every
//     entry Append returned, in both modes (the operating system holds the
//     written bytes).
//   - A power cut or kernel crash: with SyncEach every entry Durable
//     returned; with SyncInterval, the entries written more than Interval
//     before the cut (the trade, documented in docs/architecture.md).
//
// # Files
//
// The journal is a directory of segments, each named by its first LSN in
// hex (0000000000000001.wal). An entry is
//
//	u32 length of payload | u32 CRC-32C of (stream, LSN, payload) | u8 stream | u64 LSN | payload
//
// big-endian, LSNs consecutive across segments. A segment is synced
// before the next one starts, so only the last can end in a torn entry:
// Open truncates it after the last whole entry. A bad entry anywhere else
// is ErrCorrupt. A segment is removed once every stream that wrote to it
// has applied it.
package wal
