// Package audit is a small append-only, hash-chained audit log of a node's
// admin actions, kept in a bbolt bucket of a database the caller owns.
//
// Every Entry carries the SHA-256 of its predecessor (PrevHash, empty for
// the first) and its own Hash over a canonical, length-prefixed encoding of
// its fields (see Entry.ComputeHash), so changing, inserting, reordering or
// removing an entry anywhere but at the end breaks the chain. VerifyAll
// re-checks the stored log; Export writes it as JSON lines, oldest first, and
// Verify re-checks such an export offline, without the database.
//
// The chain proves integrity, not completeness at the tail: an attacker who
// can write the database can drop the newest entries. Keep the last
// exported Seq and Hash somewhere else to detect that.
//
// Entries are kept forever and exported verbatim: never put secrets
// (tokens, passphrases, private keys) into Actor, Target or Detail.
package audit
