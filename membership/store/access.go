package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/state"
)

// Read runs fn with the local state under the read lock. fn must not keep
// s or anything it points to, nor call back into the server.
func (s *Server) Read(fn func(st *state.State)) { s.fsm.read(fn) }

// WaitApplied blocks until every command up to index has been applied
// locally, or ctx ends.
func (s *Server) WaitApplied(ctx context.Context, index uint64) error {
	return s.fsm.waitApplied(ctx, index)
}

// WaitCommitted blocks until this server has applied everything it knows
// to be committed, or ctx ends.
func (s *Server) WaitCommitted(ctx context.Context) error {
	return s.fsm.waitApplied(ctx, s.raft.CommitIndex())
}

// Changed returns a channel closed the next time the applied index moves
// (a command, refused or not, a configuration entry or a snapshot restore).
func (s *Server) Changed() <-chan struct{} { return s.fsm.changed() }

// Watch runs step on the goroutine it is called from, first at once and
// then after every change of the state (a command applied, refused or not,
// or a snapshot restored), coalescing the changes that arrive within
// debounce of the first one. step returns how long it may sleep when
// nothing changes (to refresh or retry). Watch returns when stop is closed.
// The FSM only closes a channel; observers do their I/O here, outside Apply.
func (s *Server) Watch(debounce time.Duration, stop <-chan struct{}, step func() time.Duration) {
	watch(s.fsm, debounce, stop, step)
}

// Logger returns the server's logger (component=registry).
func (s *Server) Logger() *slog.Logger { return s.log }

// Now returns the server clock's time (WithClock).
func (s *Server) Now() time.Time { return s.now() }

// Closed reports whether Close was called.
func (s *Server) Closed() bool { return s.closed.Load() }

// MaxCommandSize is the largest encoded command the server accepts.
func (s *Server) MaxCommandSize() int { return s.cfg.MaxCommandSize }

// HasState reports whether the server has Raft state (it bootstrapped or
// was added to a cluster).
func (s *Server) HasState() (bool, error) {
	return raft.HasExistingState(s.stores.logs, s.stores.bolt, s.stores.snaps)
}

// FirstIndex returns the first entry still in the local log; older ones
// are compacted into a snapshot.
func (s *Server) FirstIndex() (uint64, error) { return s.stores.logs.FirstIndex() }
