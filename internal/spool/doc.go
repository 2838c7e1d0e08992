// Package spool holds a message body while a node signs or forwards it,
// with memory bounded independently of the body's size: the first bytes
// stay in memory, the rest go to an unnamed temporary file (created and
// unlinked at once, so a crash leaves nothing behind) encrypted with a key
// that exists only in memory (AES-256-CTR), so a body never rests in clear
// on the node's disk. Filling a Spool hashes the body (SHA-256) and counts
// it; the body can then be read any number of times, concurrently (a call
// that fails over to another provider node sends it again).
//
// Integrity is not the spool's job: the hash is signed into the message's
// envelope, and the receiver checks the bytes against it.
package spool
