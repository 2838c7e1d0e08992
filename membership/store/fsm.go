package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/state"
)

// maxSnapshotSize caps what Restore reads, so a corrupt snapshot cannot
// exhaust memory.
const maxSnapshotSize = 1 << 30

// applyResult is what fsm.Apply returns through raft's ApplyFuture.
type applyResult struct {
	index  uint64
	target string
	err    error // a business error: the command was refused, nothing changed
}

// fsm is the thin raft.FSM adapter over State: decode, dispatch on the
// command type byte, lock. All logic lives in State.apply.
//
// It also tracks applied, the index of the last command or configuration
// entry it has processed (raft.AppliedIndex moves when entries are handed to
// the FSM goroutine, before they are applied, so a linearizable read cannot
// wait on it). applied travels in snapshots.
type fsm struct {
	log *slog.Logger

	mu sync.RWMutex
	st *state.State

	amu     sync.Mutex
	applied uint64
	advance chan struct{} // closed and replaced whenever applied moves
}

var _ raft.ConfigurationStore = (*fsm)(nil)

func newFSM(log *slog.Logger) *fsm {
	return &fsm{log: log, st: state.NewState(), advance: make(chan struct{})}
}

func (f *fsm) setApplied(index uint64, force bool) {
	f.amu.Lock()
	defer f.amu.Unlock()
	if index > f.applied || force {
		f.applied = index
		close(f.advance)
		f.advance = make(chan struct{})
	}
}

func (f *fsm) appliedIndex() uint64 {
	f.amu.Lock()
	defer f.amu.Unlock()
	return f.applied
}

// changed returns a channel closed the next time the applied index moves
// (a command, refused or not, a configuration entry or a snapshot restore).
// Observers outside Apply (the publisher, the CA sync) wait on it.
func (f *fsm) changed() <-chan struct{} {
	f.amu.Lock()
	defer f.amu.Unlock()
	return f.advance
}

// waitApplied blocks until every command up to index has been applied.
func (f *fsm) waitApplied(ctx context.Context, index uint64) error {
	for {
		f.amu.Lock()
		done, ch := f.applied >= index, f.advance
		f.amu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// StoreConfiguration implements raft.ConfigurationStore; the registry keeps
// no cluster membership of its own, it only notes the index.
func (f *fsm) StoreConfiguration(index uint64, _ raft.Configuration) { f.setApplied(index, false) }

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	cmd, err := state.DecodeCommand(l.Data)
	if err != nil {
		f.log.Warn("undecodable log entry", "index", l.Index, "error", err)
		f.setApplied(l.Index, false)
		return &applyResult{index: l.Index, err: err}
	}
	f.mu.Lock()
	target, err := f.st.Apply(l.Index, cmd)
	f.mu.Unlock()
	f.setApplied(l.Index, false)
	if err != nil {
		f.log.Debug("command refused", "index", l.Index, "command", cmd.Type().String(), "error", err)
	}
	return &applyResult{index: l.Index, target: target, err: err}
}

// read runs fn on the state under the read lock. fn must not keep s.
func (f *fsm) read(fn func(s *state.State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.st)
}

// Snapshot implements raft.FSM: the applied index (8 bytes, big-endian)
// followed by the canonical encoding of the state, taken under the read lock
// (Apply waits; the registry state is small). Raft calls Snapshot and Apply
// from the same goroutine, so applied matches the state.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	b, err := f.st.Encode()
	f.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	data := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(b)), f.appliedIndex())
	return &fsmSnapshot{data: append(data, b...)}, nil
}

// Restore implements raft.FSM: it replaces the state.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSnapshotSize+1))
	if err != nil {
		return fmt.Errorf("membership: read snapshot: %w", err)
	}
	if len(b) > maxSnapshotSize {
		return fmt.Errorf("%w: snapshot over %d bytes", state.ErrTooLarge, maxSnapshotSize)
	}
	if len(b) < 8 {
		return fmt.Errorf("%w: snapshot of %d bytes", state.ErrBadCommand, len(b))
	}
	applied := binary.BigEndian.Uint64(b)
	st, err := state.DecodeState(b[8:])
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	f.setApplied(applied, true)
	f.log.Info("state restored from snapshot", "version", st.Version, "members", len(st.Members), "bytes", len(b))
	return nil
}

type fsmSnapshot struct{ data []byte }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.data); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("membership: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
