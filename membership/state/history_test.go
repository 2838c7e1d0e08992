package state_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

// TestHistoryHashVector freezes the history hash: apply computes it, so a
// change would make a Raft log replay to a different state.
func TestHistoryHashVector(t *testing.T) {
	h := state.HistoryEntry{Index: 7, Time: time.Unix(1700000000, 5).In(time.FixedZone("ICT", 7*3600)), Actor: "alice",
		Action: "approve_registration", Target: "t", Detail: "d", PrevHash: hashA}
	const want = "25f4b1c6cc8d166381efbe039481dd262bc6b8bc50b5411c2d3c8b9ae0dbff41"
	if got := h.ComputeHash(); got != want {
		t.Fatalf("hash %s, want %s (the encoding changed?)", got, want)
	}
	g := h
	g.Actor, g.Action = "alicea", "pprove_registration"
	if g.ComputeHash() == want {
		t.Fatal("field boundary not in the hash")
	}
}

// historyHarness applies a few commands and returns the harness.
func historyHarness(t *testing.T) *regtest.Harness {
	h := regtest.NewHarness(t)
	a := h.Admit("H26")
	h.Must(&state.SuspendMember{Header: state.Header{Actor: "operator"}, Member: a.Member, Reason: "audit"})
	h.Must(&state.ReactivateMember{Header: state.Header{Actor: "operator"}, Member: a.Member, Reason: "audit passed"})
	if err := h.Do(&state.SuspendMember{Header: state.Header{Actor: "operator"}, Member: "nope"}, false); err == nil {
		t.Fatal("refused command accepted") // and it leaves no history entry
	}
	return h
}

func TestHistoryChainTamper(t *testing.T) {
	h := historyHarness(t)
	hist := h.St.History
	if n, err := state.VerifyHistory(hist); n != len(hist) || n != 5 || err != nil {
		t.Fatalf("VerifyHistory: %d of %d: %v", n, len(hist), err)
	}
	if hist[0].PrevHash != "" || hist[0].Hash == "" || hist[3].PrevHash != hist[2].Hash {
		t.Fatalf("chain: %+v", hist)
	}
	if n, err := state.VerifyHistory(nil); n != 0 || err != nil {
		t.Fatalf("empty: %d %v", n, err)
	}

	// Every replica derives the same chain: a second harness with the same
	// commands at the same times is not possible (fresh keys), but the
	// canonical encoding round-trips the hashes unchanged.
	again, err := state.DecodeState(h.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again.History, hist) || !bytes.Equal(mustEncode(t, again), h.Encode()) {
		t.Fatal("hashes changed through the encoding")
	}

	for _, tc := range []struct {
		name string
		fn   func(hs []state.HistoryEntry) []state.HistoryEntry
		want string
	}{
		{"actor", func(hs []state.HistoryEntry) []state.HistoryEntry { hs[2].Actor = "mallory"; return hs }, "index 3: hash"},
		{"detail", func(hs []state.HistoryEntry) []state.HistoryEntry { hs[4].Detail += "!"; return hs }, "index 5: hash"},
		{"time", func(hs []state.HistoryEntry) []state.HistoryEntry {
			hs[1].Time = hs[1].Time.Add(time.Nanosecond)
			return hs
		}, "index 2: hash"},
		{"index", func(hs []state.HistoryEntry) []state.HistoryEntry { hs[0].Index = 9; return hs }, "index 9: hash"},
		{"rehashed", func(hs []state.HistoryEntry) []state.HistoryEntry {
			hs[1].Target = "x"
			hs[1].Hash = hs[1].ComputeHash()
			return hs
		}, "index 3: prev_hash"},
		{"removed", func(hs []state.HistoryEntry) []state.HistoryEntry { return slices.Delete(hs, 2, 3) }, "index 4: prev_hash"},
		{"swapped", func(hs []state.HistoryEntry) []state.HistoryEntry { hs[1], hs[2] = hs[2], hs[1]; return hs }, "index 3: prev_hash"},
		{"rehashed out of order", func(hs []state.HistoryEntry) []state.HistoryEntry {
			hs[2].Index = hs[0].Index
			hs[2].Hash = hs[2].ComputeHash()
			hs[3].PrevHash = hs[2].Hash
			hs[3].Hash = hs[3].ComputeHash()
			hs[4].PrevHash = hs[3].Hash
			hs[4].Hash = hs[4].ComputeHash()
			return hs
		}, "index 1 follows index 2"},
		{"first cut", func(hs []state.HistoryEntry) []state.HistoryEntry { return hs[1:] }, "index 2: prev_hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := tc.fn(slices.Clone(hist))
			if _, err := state.VerifyHistory(hs); !errors.Is(err, state.ErrHistoryChain) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrHistoryChain naming %q", err, tc.want)
			}
		})
	}
}

func mustEncode(t *testing.T, s *state.State) []byte {
	t.Helper()
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHistoryLegacySnapshot: a state encoded before the history was chained
// decodes to the chain a full replay of the log builds.
func TestHistoryLegacySnapshot(t *testing.T) {
	h := historyHarness(t)
	old := h.St.Clone()
	for i := range old.History {
		old.History[i].PrevHash, old.History[i].Hash = "", ""
	}
	legacy := mustEncode(t, old)
	if bytes.Contains(legacy, []byte(`"hash"`)) {
		t.Fatal("an unchained history still encodes hashes")
	}
	st, err := state.DecodeState(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustEncode(t, st), h.Encode()) {
		t.Fatal("a legacy snapshot decodes to another chain than replay builds")
	}
	// Applying on from the restored state continues the same chain.
	h.St = st
	h.Must(&state.SuspendMember{Header: state.Header{Actor: "operator"}, Member: regtest.Instance + "/GOV/H26", Reason: "again"})
	if n, err := state.VerifyHistory(h.St.History); err != nil || n != 6 {
		t.Fatalf("after restore: %d %v", n, err)
	}
}

func TestHistoryExportVerify(t *testing.T) {
	h := historyHarness(t)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range h.St.History {
		enc.Encode(e)
	}
	export := buf.String()
	n, last, err := state.VerifyHistoryExport(strings.NewReader(export))
	if err != nil || n != 5 || last.Hash != h.St.History[4].Hash {
		t.Fatalf("verify: %d %+v %v", n, last, err)
	}
	lines := strings.SplitAfter(export, "\n")
	for _, tc := range []struct{ name, export, want string }{
		{"changed byte", strings.Replace(export, `"actor":"operator"`, `"actor":"operatos"`, 1), "hash does not match"},
		{"dropped line", lines[0] + lines[2] + lines[3], "index 3: prev_hash"},
		{"unknown field", strings.Replace(export, `"detail"`, `"detaim"`, 1), "entry "},
		{"truncated", export[:len(export)-5], "entry 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.export == export {
				t.Fatal("the test changed nothing")
			}
			if _, _, err := state.VerifyHistoryExport(strings.NewReader(tc.export)); !errors.Is(err, state.ErrHistoryChain) ||
				!strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrHistoryChain naming %q", err, tc.want)
			}
		})
	}
}
