// Package oprec keeps a node's operational records: one metadata-only
// Record per exchanged call (identifiers, times, parties, status, sizes,
// duration, caller IP; never a body or header value) and per event of a
// document delivery (Event set; roles sender and recipient; outside the
// call statistics and metrics), the level-2 health
// history of the services the node serves, per-member daily statistics and
// Prometheus metrics (DESIGN.md §6; REQUIREMENTS.md R-L1, R-L3..R-L6,
// R-M2).
//
// # Data path
//
// Add and AddHealth never block and never do I/O: they update the
// in-memory metrics and put the item on a bounded queue (Config.QueueSize).
// One writer goroutine drains the queue and commits everything waiting in a
// single bbolt transaction (group commit), so the fsync cost is shared by
// every record that arrived while the previous commit ran. When the queue
// is full the record is dropped rather than stalling the call it
// describes: the drop is counted in dxl_oprec_dropped_total (and Dropped)
// and a warning is logged at most once per DropWarnInterval. Blocking
// would make a slow disk throttle every exchange on the node, and the
// evidential log (node/msglog) is the authoritative record of an
// exchange; these records are its statistical shadow. Flush waits until
// everything added before it is committed. With a Journal (journal.go,
// internal/wal) each record is written to it first; Durable waits for
// the journal, and Open commits the journal's records the file lacks.
//
// # Storage
//
// One bbolt file (Config.Path) with four buckets:
//
//	records  key = start(8, big-endian, sign-flipped ns) | request ID | 0x00 | role
//	               [| 0x01 | event | 0x01 | recipient, for a delivery event]
//	stats    key = YYYY-MM-DD | 0x00 | member  value = made, served, errors (3×uint64)
//	health   key = service | 0x00 | time(8)
//	meta     schema version
//
// The records key is the time index: a query bounded by From/To seeks to
// From and stops at To, and results come back ordered by start time then
// request ID. The other Filter fields are checked on each record inside the
// time range; one Query call examines at most MaxScan records, and when that
// budget runs out it returns the records found so far with a cursor to
// continue from, so a page may hold fewer than Limit records while the
// cursor is not empty. Cursors are opaque (base64url of the last key with a
// checksum); a malformed one is rejected with ErrBadFilter.
//
// The stats bucket is maintained in the same transaction as the records,
// so Stats reads one small key per member per day instead of scanning the
// records. Re-adding a record with the same start, request ID and role
// replaces it and its contribution to the statistics.
//
// Prune deletes records older than Config.Retention (default 365 days,
// R-L3) and health samples older than Config.HealthRetention (default 100
// days, R-L4); a background goroutine prunes once at Open and then every
// Config.PruneInterval.
package oprec
