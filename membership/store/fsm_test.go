package store

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

func fsmApply(t *testing.T, f *fsm, index uint64, cmd state.Command) *applyResult {
	t.Helper()
	b, err := state.EncodeCommand(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: b}).(*applyResult)
}

func TestFSMSnapshotRestoreIsCanonical(t *testing.T) {
	h := regtest.NewHarness(t)
	for _, code := range []string{"C", "A", "B"} {
		h.Admit(code)
	}
	h.Must(&state.SetGroup{Header: state.Header{Actor: "op"}, Code: "all", Description: "everyone",
		Members: []string{regtest.Instance + "/GOV/B/SYS", regtest.Instance + "/GOV/A/SYS"}})
	want := h.Encode()

	// Encode → Decode → Encode and Clone → Encode give the same bytes.
	dec, err := state.DecodeState(want)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*state.State{"decoded": dec, "clone": h.St.Clone()} {
		if got, _ := st.Encode(); !bytes.Equal(got, want) {
			t.Fatalf("%s state encodes differently", name)
		}
	}

	// fsm Snapshot → Persist → Restore into a fresh fsm.
	f := newFSM(regtest.Logger())
	f.st = h.St
	f.setApplied(h.Idx, false)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	g := newFSM(regtest.Logger())
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got, _ := g.st.Encode(); !bytes.Equal(got, want) || g.appliedIndex() != h.Idx {
		t.Fatalf("restored state differs (applied %d, want %d)", g.appliedIndex(), h.Idx)
	}

	// The restored FSM accepts further commands.
	a := regtest.NewApplicant(t, "D")
	sub := a.Submit("req-D")
	sub.Time = regtest.T0
	if err := sub.Prepare(nilReader{}); err != nil {
		t.Fatal(err)
	}
	if r := fsmApply(t, g, h.Idx+1, sub); r.err != nil || r.target != "req-D" || g.appliedIndex() != h.Idx+1 {
		t.Fatalf("apply after restore: %+v", r)
	}

	// A mutation of a clone does not reach the original.
	c := h.St.Clone()
	n := c.Nodes[state.SortedKeys(c.Nodes)[0]]
	n.Addrs[0] = "/ip4/9.9.9.9/tcp/9"
	c.Groups["all"].Members[0] = "x"
	if got := h.Encode(); !bytes.Equal(got, want) {
		t.Fatal("Clone is shallow")
	}
}

type nilReader struct{}

func (nilReader) Read(p []byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestFSMRefusesGarbage(t *testing.T) {
	f := newFSM(regtest.Logger())
	for i, data := range [][]byte{nil, {0}, {255, '{', '}'}, append([]byte{byte(state.CmdSetPolicy)}, "nonsense"...)} {
		r := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).(*applyResult)
		if !errors.Is(r.err, state.ErrBadCommand) {
			t.Fatalf("entry %d: %v", i, r.err)
		}
	}
	if f.appliedIndex() != 4 || f.st.Version != 0 {
		t.Fatalf("applied %d, version %d", f.appliedIndex(), f.st.Version)
	}
	for name, data := range map[string][]byte{
		"short":      {1, 2},
		"not JSON":   append(make([]byte, 8), "{"...),
		"bad format": append(make([]byte, 8), `{"format":99}`...),
	} {
		if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
			t.Errorf("%s: restore accepted", name)
		}
	}
}
