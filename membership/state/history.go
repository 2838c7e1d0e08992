package state

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// The history is hash-chained: every HistoryEntry carries the hash of the
// entry before it (PrevHash, empty for the first) and its own Hash, both
// computed inside apply from the entry's fields alone, so every server
// derives the same chain from the same log. Changing, inserting, removing or
// reordering an entry anywhere but at the end breaks the chain; VerifyHistory
// checks it, also offline on an export (GET /v1/admin/history/export).

// historyHashDomain separates history hashes from every other SHA-256 in DXL.
const historyHashDomain = "DXL-REGISTRY-HISTORY-v1\x00"

// ComputeHash returns the entry's hash, lower-case hex: SHA-256 of
// "DXL-REGISTRY-HISTORY-v1\x00", Index (8 bytes, big-endian), Time as Unix
// nanoseconds (8 bytes, big-endian, two's complement), then Actor, Action,
// Target, Detail and PrevHash (its hex text), each as an 8-byte big-endian
// length and its bytes. The Hash field is not read. The encoding is frozen:
// apply calls it, so changing it would change how a Raft log replays.
func (h *HistoryEntry) ComputeHash() string {
	b := make([]byte, 0, len(historyHashDomain)+16+5*8+len(h.Actor)+len(h.Action)+len(h.Target)+len(h.Detail)+len(h.PrevHash))
	b = append(b, historyHashDomain...)
	b = binary.BigEndian.AppendUint64(b, h.Index)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Time.UnixNano()))
	for _, f := range []string{h.Actor, h.Action, h.Target, h.Detail, h.PrevHash} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendHistory seals h onto the end of the chain and appends it.
func (s *State) appendHistory(h HistoryEntry) {
	h.PrevHash = ""
	if n := len(s.History); n > 0 {
		h.PrevHash = s.History[n-1].Hash
	}
	h.Hash = h.ComputeHash()
	s.History = append(s.History, h)
}

// sealLegacyHistory gives the entries of a state written before the history
// was chained (a leading run without hashes) the hashes apply would have
// given them, so a server restored from an old snapshot holds the same chain
// as one that replayed the whole log.
func (s *State) sealLegacyHistory() {
	prev := ""
	for i := range s.History {
		h := &s.History[i]
		if h.Hash != "" {
			return
		}
		h.PrevHash = prev
		h.Hash = h.ComputeHash()
		prev = h.Hash
	}
}

// checkLink checks that h follows an entry with Raft index prevIndex and hash
// prevHash ("" before the first) and carries its own hash.
func checkLink(h *HistoryEntry, first bool, prevIndex uint64, prevHash string) error {
	switch {
	case !first && h.Index <= prevIndex:
		return fmt.Errorf("%w: index %d follows index %d", ErrHistoryChain, h.Index, prevIndex)
	case h.PrevHash != prevHash:
		return fmt.Errorf("%w: index %d: prev_hash does not match the previous entry", ErrHistoryChain, h.Index)
	case h.Hash != h.ComputeHash():
		return fmt.Errorf("%w: index %d: hash does not match the entry", ErrHistoryChain, h.Index)
	}
	return nil
}

// VerifyHistory checks a whole history, oldest first as State.History holds
// it: the first entry has no PrevHash, every other links to the one before,
// Raft indexes increase and every hash matches its entry. It returns the
// number of entries verified; the error wraps ErrHistoryChain and names the
// index where the chain broke. A history cut short at the end still
// verifies: compare the last Hash with one kept elsewhere to detect that.
func VerifyHistory(entries []HistoryEntry) (int, error) {
	for i := range entries {
		var prevIndex uint64
		var prevHash string
		if i > 0 {
			prevIndex, prevHash = entries[i-1].Index, entries[i-1].Hash
		}
		if err := checkLink(&entries[i], i == 0, prevIndex, prevHash); err != nil {
			return i, err
		}
	}
	return len(entries), nil
}

// VerifyHistoryExport checks an export of the history (JSON lines, oldest
// first, as GET /v1/admin/history/export and Client.ExportHistory write it)
// like VerifyHistory, reading it as a stream. It returns the number of
// entries verified and the last one (zero for an empty export), whose Hash
// pins the whole chain.
func VerifyHistoryExport(r io.Reader) (n int, last HistoryEntry, err error) {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	for {
		var h HistoryEntry
		if err := dec.Decode(&h); err == io.EOF {
			return n, last, nil
		} else if err != nil {
			return n, last, fmt.Errorf("%w: entry %d (after index %d): %v", ErrHistoryChain, n+1, last.Index, err)
		}
		if err := checkLink(&h, n == 0, last.Index, last.Hash); err != nil {
			return n, last, err
		}
		n, last = n+1, h
	}
}
