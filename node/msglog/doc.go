// Package msglog is the node's message log (DESIGN.md §6): an
// append-only, hash-chained record of every exchange in bbolt,
// time-stamped in Merkle batches by RFC 3161 TSAs, with evidence bundles
// that verify offline with the network CA root alone.
//
// # Record
//
// A Record holds both complete envelopes (node/envelope wire form, with
// signer certificates and signatures), identifiers, parties and status.
// Append sets Time; the single writer goroutine assigns Seq (from 1) and
// chains: PrevHash = previous record's Hash (32 zero bytes for the first,
// the prune anchor after pruning) and
//
//	Hash = SHA-256("DXL-MSGLOG-RECORD-v1\x00" || u64 seq || i64 time (Unix ns) ||
//	       b role || b request_id || b client || b service || b consumer_peer ||
//	       b provider_peer || b request || b response || i64 status ||
//	       b error_code || u8 archived || b prev_hash)
//
// where b is u32 length || bytes, integers big-endian. The stored value
// of a record is exactly that preimage followed by the hash.
//
// # Delivery records
//
// A document delivery (node/delivery) is logged in the same chain with
// Role "sender" or "recipient" and an Event (delivery.go): the sender
// logs "submitted" (Request: the signed metadata), "stored" (Response:
// the recipient node's signed transport receipt) and "acknowledged"
// (Response: the recipient member's signed receipt); the recipient logs
// "stored" and "acknowledged" with what it signed. RequestID is the
// document ID, Client the sender, Service the recipient ("" for
// submitted), ConsumerPeer and ProviderPeer the two nodes, Status 0;
// Request and Response are Signed JSON ({"body","cert","sig"}), never
// content. Only these records encode Event, under their own prefix, so
// a call record's hash is unchanged:
//
//	Hash = SHA-256("DXL-MSGLOG-DELIVERY-v1\x00" || u64 seq || i64 time ||
//	       b role || b event || b request_id || ... as above)
//
// The prefix and the role must agree (else ErrCorrupt on read).
//
// # Writes
//
// Append validates, copies and enqueues (QueueSize; it blocks only when
// the queue is full, never drops). The writer commits groups of up to
// 1024 appends per bbolt transaction (one fsync each); Flush waits for
// everything appended before it. With a Journal (journal.go,
// internal/wal), each append without bodies is written to the journal
// first and Durable waits for that, not for the commit; Open commits the
// journal's appends the file lacks. Buckets: records (seq), index
// (request ID 0x00 seq), batches (first seq), bodies (seq), meta
// (anchor, journal_lsn).
//
// # Time-stamping
//
// Pending records are sealed in contiguous Seq ranges of at most
// StampMaxRecords: the Merkle leaves are tsa.LeafHash(Hash) in Seq order
// (RFC 6962, as tsa.Batch), the root is time-stamped (SHA-256) by the
// first TSA of Config.TSAs that answers, and the batch (first, last,
// root, token, genTime, TSA name) is stored. A bare token is stored
// wrapped in a granted TimeStampResp, so `openssl ts -verify -in` reads
// it. Open starts only the writer; the caller runs Run, which stamps
// every StampInterval (at once when StampMaxRecords are pending; after a
// failure it retries with exponential backoff from 1 s capped at
// StampInterval) and prunes daily. When every TSA fails, records stay
// pending, are logged as warnings, and Check fails with
// ErrTimestampOutage once the oldest is older than AcceptableFailure,
// unless FailOpen. Close does not stamp; the next Open resumes.
//
// # Certificates
//
// The envelopes of a record are stored in their compact form
// (envelope.Compact: without the signer's certificate, which their signed
// part names by SHA-256); the certificates are kept once each in the certs
// bucket, by that hash, and put back when a record is read. The record
// hash is over the whole envelopes, so a record reads, verifies and goes
// into evidence exactly as it was signed. Records stored whole by an
// earlier version read as they are.
//
// # Sealing
//
// With a SealKey, the stored form of each record is
// SealedPrefix || nonce(12) || AES-256-GCM(preimage) || hash, with the
// seq key and the hash as additional data: the hash stays in clear for
// the Merkle leaves, and the request-ID index for lookups; everything else
// (envelopes, parties, codes) is sealed. Records stored in clear by a log
// without a key stay readable; a sealed record without the right key is
// ErrDecrypt.
//
// # Archive
//
// With an ArchiveKey, bodies given to Append are stored in the bodies
// bucket as nonce(12) || AES-256-GCM(u32 len(req) || req || resp) with the
// record hash as additional data; they are never written in clear.
//
// # Pruning
//
// Prune deletes whole stamped batches, oldest first, whose records are
// all older than the cutoff, and stores the last deleted record's seq and
// hash as the anchor from which VerifyChain starts.
//
// # Evidence bundle
//
// A Bundle (format 1) is the record, its inclusion proof and batch root,
// the token (TimeStampResp) and the CA chain. Its file form is
// Bundle.Marshal (indented JSON); ReadBundle accepts only that exact
// form. VerifyBundle checks the record hash, both envelopes (signatures,
// member-sign chain at the envelope's own signing time, response bound
// to the request), the record against the envelopes, the proof, the
// token (chain at its genTime) and that the CA chain is exactly a path
// to the given root, and that the token's unsigned CMS parts are the
// plain ones this package produces. Revocation is not checked. The
// tree size in the proof is not committed by the root (RFC 6962), so a
// larger Size with the same path shape still verifies.
//
// A DeliveryBundle (format 2) is the records of one document's delivery
// to one recipient that a node logged (DeliveryEvidence: the first of
// each role and event), each as a Stamped (record, proof, root, token),
// and the CA chain; ReadDeliveryBundle is as strict as ReadBundle.
// VerifyDeliveryBundle checks every record and stamp as VerifyBundle
// does, that all hold one signed metadata of the bundle's document, and
// the detached signatures (node/envelope, at each statement's own time):
// metadata by the sender's member, transport receipt and receipt by the
// recipient's member, for the metadata's document, sender, SHA-256 and
// size. Evidence picks only call records, DeliveryEvidence only
// delivery records.
package msglog
