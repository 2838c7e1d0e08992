package msglog

import "errors"

// Sentinel errors returned by this package. Test with errors.Is; returned
// errors wrap these with detail (and, for evidence, the envelope or tsa
// sentinel that caused them).
var (
	// ErrConfig means a Config is invalid.
	ErrConfig = errors.New("msglog: invalid configuration")
	// ErrInvalid means a Record given to Append breaks a field rule.
	ErrInvalid = errors.New("msglog: invalid record")
	// ErrClosed means the log was used after Close.
	ErrClosed = errors.New("msglog: closed")
	// ErrNotFound means no record (or archived body) matches.
	ErrNotFound = errors.New("msglog: not found")
	// ErrNoArchiveKey means bodies were asked for but the log has no
	// ArchiveKey.
	ErrNoArchiveKey = errors.New("msglog: no archive key")
	// ErrDecrypt means an archived body or a sealed record does not open
	// with the key (or the log has no key for it).
	ErrDecrypt = errors.New("msglog: stored data does not decrypt")
	// ErrTimestampOutage means records have waited for a time-stamp longer
	// than Config.AcceptableFailure (and FailOpen is off), or that StampNow
	// found no TSA able to stamp.
	ErrTimestampOutage = errors.New("msglog: time-stamping outage")
	// ErrChain means the stored hash chain (or a batch's Merkle root) does
	// not recompute: the database was altered.
	ErrChain = errors.New("msglog: hash chain broken")
	// ErrCorrupt means a stored value cannot be decoded.
	ErrCorrupt = errors.New("msglog: corrupt database entry")

	// Evidence.

	// ErrMalformed means a bundle cannot be read: not JSON, unknown
	// fields, not in canonical form, too large, wrong format number.
	ErrMalformed = errors.New("msglog: malformed evidence bundle")
	// ErrTamper means the bundle's content is inconsistent: the record
	// hash does not recompute, the record disagrees with its envelopes,
	// or the inclusion proof does not lead to the time-stamped root.
	ErrTamper = errors.New("msglog: evidence bundle altered")
	// ErrEvidence means a signature, certificate chain or time-stamp
	// token of the bundle does not verify; the error also wraps the
	// envelope or tsa sentinel.
	ErrEvidence = errors.New("msglog: evidence does not verify")
)
