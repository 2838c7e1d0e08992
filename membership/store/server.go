package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/state"
)

// Server is one registry server: a Raft peer whose FSM is the registry
// State. Writes go through Apply (the one write path); reads are served
// from the local copy, made linearizable with Sync. It is safe for
// concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
	rnd io.Reader
	fwd Forwarder

	fsm    *fsm
	raft   *raft.Raft
	stores *stores
	trans  raft.Transport

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Peer names a server for Bootstrap.
type Peer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// New opens (or creates) the server's stores in cfg.Dir, restores the
// latest snapshot and starts Raft. A new directory needs Bootstrap (first
// server) or AddVoter on the leader (further servers).
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: slog.Default(), now: time.Now, rnd: defaultRand()}
	for _, o := range opts {
		o(s)
	}
	s.rnd = &lockedReader{r: s.rnd}
	base := s.log
	s.log = base.With("component", "registry", "server_id", cfg.ID)
	hl := newHCLog(s.log, "raft")

	st, err := openStores(cfg, hl)
	if err != nil {
		return nil, err
	}
	s.stores = st
	s.trans = cfg.Transport
	if s.trans == nil {
		nt, err := NewTCPTransport(cfg.BindAddr, cfg.AdvertiseAddr, base.With("server_id", cfg.ID))
		if err != nil {
			st.close()
			return nil, err
		}
		s.trans = nt
	}
	s.fsm = newFSM(s.log)
	rc := cfg.raftConfig()
	rc.Logger = hl
	if s.raft, err = raft.NewRaft(rc, s.fsm, st.logs, st.bolt, st.snaps, s.trans); err != nil {
		if c, ok := s.trans.(raft.WithClose); ok {
			c.Close()
		}
		st.close()
		return nil, fmt.Errorf("membership: start raft: %w", err)
	}
	s.log.Info("registry server started", "dir", cfg.Dir, "address", string(s.trans.LocalAddr()),
		"version", s.fsm.appliedIndex())
	return s, nil
}

// ID returns the server's Raft ID.
func (s *Server) ID() string { return s.cfg.ID }

// Addr returns the server's Raft transport address.
func (s *Server) Addr() string { return string(s.trans.LocalAddr()) }

// Close stops Raft (which closes the transport) and closes the stores. A
// write in flight returns ErrIndeterminate. Close is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		err := s.raft.Shutdown().Error()
		if e := s.stores.close(); err == nil {
			err = e
		}
		s.closeErr = err
		s.log.Info("registry server stopped")
	})
	return s.closeErr
}

// Bootstrap makes this server the first of a new cluster. With no peers the
// cluster is this server alone; otherwise peers must include it. It refuses
// a server that already has Raft state (ErrBootstrapped).
func (s *Server) Bootstrap(ctx context.Context, peers ...Peer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(peers) == 0 {
		peers = []Peer{{ID: s.cfg.ID, Address: s.Addr()}}
	}
	var conf raft.Configuration
	self := false
	for _, p := range peers {
		self = self || p.ID == s.cfg.ID
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Address)})
	}
	if !self {
		return fmt.Errorf("%w: bootstrap peers must include this server (%s)", state.ErrBadConfig, s.cfg.ID)
	}
	has, err := raft.HasExistingState(s.stores.logs, s.stores.bolt, s.stores.snaps)
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	if has {
		return state.ErrBootstrapped
	}
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil {
		if errors.Is(err, raft.ErrCantBootstrap) {
			return state.ErrBootstrapped
		}
		return fmt.Errorf("membership: bootstrap: %w", err)
	}
	s.log.Info("cluster bootstrapped", "servers", len(conf.Servers))
	return nil
}

// Leader returns the leader's ID and address as this server knows them
// ("" when none is known).
func (s *Server) Leader() (id, addr string) {
	a, i := s.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this server is the leader.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// WaitLeader waits until this server knows a leader and returns its ID.
func (s *Server) WaitLeader(ctx context.Context) (string, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if id, _ := s.Leader(); id != "" {
			return id, nil
		}
		if s.closed.Load() {
			return "", state.ErrShutdown
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: no leader: %w", state.ErrTimeout, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *Server) notLeader() error {
	id, addr := s.Leader()
	return &state.NotLeaderError{LeaderID: id, LeaderAddr: addr}
}

// AddVoter adds (or re-addresses) a voting server. On a follower it is
// forwarded to the leader, like Apply.
func (s *Server) AddVoter(ctx context.Context, id, addr string) error {
	return s.ChangeVoters(ctx, state.VoterChange{Op: state.VoterAdd, ID: id, Addr: addr})
}

// RemoveServer removes a server from the cluster. On a follower it is
// forwarded to the leader, like Apply.
func (s *Server) RemoveServer(ctx context.Context, id string) error {
	return s.ChangeVoters(ctx, state.VoterChange{Op: state.VoterRemove, ID: id})
}

// ChangeVoters makes ch on the leader: here if this server leads, else
// through the Forwarder.
func (s *Server) ChangeVoters(ctx context.Context, ch state.VoterChange) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.onLeader(ctx, func(ctx context.Context) error { return s.ChangeVotersLocal(ctx, ch) },
		func(ctx context.Context, id, addr string) error { return s.fwd.ForwardVoterChange(ctx, id, addr, ch) })
}

// ChangeVotersLocal makes ch only if this server is the leader; it never
// forwards. A Forwarder's receiving end calls it.
func (s *Server) ChangeVotersLocal(ctx context.Context, ch state.VoterChange) error {
	switch ch.Op {
	case state.VoterAdd:
		return s.membershipChange(ctx, "add voter", func(timeout time.Duration) raft.Future {
			return s.raft.AddVoter(raft.ServerID(ch.ID), raft.ServerAddress(ch.Addr), 0, timeout)
		})
	case state.VoterRemove:
		return s.membershipChange(ctx, "remove server", func(timeout time.Duration) raft.Future {
			return s.raft.RemoveServer(raft.ServerID(ch.ID), 0, timeout)
		})
	}
	return state.Invalidf("voter change %q", ch.Op)
}

func (s *Server) membershipChange(ctx context.Context, what string, start func(time.Duration) raft.Future) error {
	if s.closed.Load() {
		return state.ErrShutdown
	}
	if !s.IsLeader() {
		return s.notLeader()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if err := s.wait(ctx, start(s.timeout(ctx))); err != nil {
		switch {
		case errors.Is(err, state.ErrIndeterminate), errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrEnqueueTimeout),
			errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrRaftShutdown),
			errors.Is(err, raft.ErrLeadershipTransferInProgress):
			err = s.writeErr(err)
		default: // raft refused the new configuration (duplicate address …)
			err = fmt.Errorf("%w: %v", state.ErrInvalidArgument, err)
		}
		return fmt.Errorf("membership: %s: %w", what, err)
	}
	s.log.Info("cluster configuration changed", "change", what)
	return nil
}

// Status reports this server's view of the cluster.
func (s *Server) Status() state.ClusterStatus {
	lid, laddr := s.Leader()
	st := state.ClusterStatus{
		ID: s.cfg.ID, Address: s.Addr(), State: strings.ToLower(s.raft.State().String()),
		LeaderID: lid, LeaderAddress: laddr, Term: s.raft.CurrentTerm(),
		LastIndex: s.raft.LastIndex(), CommitIndex: s.raft.CommitIndex(), AppliedIndex: s.raft.AppliedIndex(),
		Servers: []state.ServerInfo{},
	}
	if f := s.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			st.Servers = append(st.Servers, state.ServerInfo{
				ID: string(srv.ID), Address: string(srv.Address),
				Suffrage: strings.ToLower(srv.Suffrage.String()), Leader: string(srv.ID) == lid,
			})
		}
	}
	s.fsm.read(func(cur *state.State) { st.ConfigVersion = cur.Version })
	return st
}

// Apply is the one write path. It stamps cmd (time from the server clock
// if unset), validates it and derives its proposer-side fields (so cmd is
// modified: a SubmitRegistration gets its request ID, certificates their
// serials …), then commits it: on the leader through Raft, on a follower by
// forwarding it to the leader (when a Forwarder is set; while an election
// is under way it waits, within ctx, for a leader). The error is a
// business error from the FSM (nothing changed), ErrNotLeader / ErrTimeout
// (not applied), or ErrIndeterminate (may or may not have committed).
func (s *Server) Apply(ctx context.Context, cmd state.Command) (state.Result, error) {
	if err := s.propose(cmd); err != nil {
		return state.Result{}, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var res state.Result
	err := s.onLeader(ctx, func(ctx context.Context) (err error) {
		res, err = s.applyLeader(ctx, cmd)
		return err
	}, func(ctx context.Context, id, addr string) (err error) {
		s.log.Debug("forwarding command", "command", cmd.Type().String(), "leader_id", id)
		res, err = s.fwd.Forward(ctx, id, addr, cmd)
		return err
	})
	return res, err
}

// onLeader is the one leader-routing mechanism: it runs local, and when
// that finds this server is not the leader it hands the operation to the
// leader with forward (when a Forwarder is set); while an election is under
// way it waits, within ctx, for a leader and tries again.
func (s *Server) onLeader(ctx context.Context, local func(context.Context) error, forward func(ctx context.Context, leaderID, leaderAddr string) error) error {
	for {
		err := local(ctx)
		var nl *state.NotLeaderError
		if s.fwd == nil || !errors.As(err, &nl) {
			return err
		}
		if nl.LeaderID != "" && nl.LeaderID != s.cfg.ID {
			return forward(ctx, nl.LeaderID, nl.LeaderAddr)
		}
		// An election is under way and nothing was applied: wait for a
		// leader (within ctx), then try again.
		if !s.awaitOtherLeader(ctx) {
			return err
		}
	}
}

// awaitOtherLeader polls until this server leads or knows another leader.
// It reports false when ctx ends or the server shuts down.
func (s *Server) awaitOtherLeader(ctx context.Context) bool {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		if s.closed.Load() {
			return false
		}
		if id, _ := s.Leader(); s.IsLeader() || (id != "" && id != s.cfg.ID) {
			return true
		}
	}
}

// ApplyLocal commits cmd only if this server is the leader; it never
// forwards. A Forwarder's receiving end calls it.
func (s *Server) ApplyLocal(ctx context.Context, cmd state.Command) (state.Result, error) {
	if err := s.propose(cmd); err != nil {
		return state.Result{}, err
	}
	return s.applyLeader(ctx, cmd)
}

// propose stamps and prepares cmd. prepare is idempotent, so a forwarded
// command is checked again on the leader.
func (s *Server) propose(cmd state.Command) error {
	if cmd == nil {
		return fmt.Errorf("%w: nil command", state.ErrBadCommand)
	}
	h := cmd.CommandHeader()
	if h.Actor == "" || len(h.Actor) > state.MaxText {
		return state.Invalidf("every command needs an actor (≤%d bytes)", state.MaxText)
	}
	if h.Time.IsZero() {
		h.Time = s.now().UTC()
	}
	return cmd.Prepare(s.rnd)
}

func (s *Server) applyLeader(ctx context.Context, cmd state.Command) (state.Result, error) {
	if s.closed.Load() {
		return state.Result{}, state.ErrShutdown
	}
	if err := ctx.Err(); err != nil {
		return state.Result{}, fmt.Errorf("%w: %w", state.ErrTimeout, err)
	}
	data, err := state.EncodeCommand(cmd)
	if err != nil {
		return state.Result{}, err
	}
	if len(data) > s.cfg.MaxCommandSize {
		return state.Result{}, fmt.Errorf("%w: %s is %d bytes, limit %d", state.ErrTooLarge, cmd.Type(), len(data), s.cfg.MaxCommandSize)
	}
	if !s.IsLeader() {
		return state.Result{}, s.notLeader()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	f := s.raft.Apply(data, s.timeout(ctx))
	if err := s.wait(ctx, f); err != nil {
		return state.Result{}, s.writeErr(err)
	}
	r, ok := f.Response().(*applyResult)
	if !ok {
		return state.Result{}, fmt.Errorf("%w: unexpected FSM response %T", state.ErrIndeterminate, f.Response())
	}
	if r.err == nil {
		s.log.Info("command committed", "command", cmd.Type().String(), "index", r.index, "target", r.target,
			"actor", cmd.CommandHeader().Actor)
	}
	return state.Result{Index: r.index, Target: r.target}, r.err
}

// writeErr translates a raft error about a write into this package's terms.
func (s *Server) writeErr(err error) error {
	switch {
	case errors.Is(err, state.ErrIndeterminate), errors.Is(err, state.ErrTimeout):
		return err
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return s.notLeader() // refused before it entered the log
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", state.ErrTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", state.ErrIndeterminate, state.ErrShutdown)
	}
	// raft.ErrLeadershipLost and anything unexpected: the entry may be in
	// the log of a majority and commit under the next leader.
	return fmt.Errorf("%w: %v", state.ErrIndeterminate, err)
}

// bound gives ctx the configured ApplyTimeout when it has no deadline.
func (s *Server) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.cfg.ApplyTimeout)
}

func (s *Server) timeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return s.cfg.ApplyTimeout
}

// wait waits for f or ctx. On ctx expiry the operation may still complete.
func (s *Server) wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", state.ErrIndeterminate, ctx.Err())
	}
}

// Sync makes the reads that follow it linearizable: when it returns nil,
// the local state reflects every write acknowledged before Sync was
// called. Leader only (a follower returns a NotLeaderError). It follows
// Raft's read-index rule: note the commit index, confirm leadership with a
// quorum (VerifyLeader), wait until the FSM has applied that index. Until
// the leader has committed an entry of its own term its commit index may be
// stale, so then (and when the entry at the commit index is not one the
// FSM sees) it issues a Barrier instead.
func (s *Server) Sync(ctx context.Context) error {
	if s.closed.Load() {
		return state.ErrShutdown
	}
	if !s.IsLeader() {
		return s.notLeader()
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	term := s.raft.CurrentTerm()
	ci := s.raft.CommitIndex()
	var l raft.Log
	if err := s.stores.logs.GetLog(ci, &l); err != nil || l.Term != term ||
		(l.Type != raft.LogCommand && l.Type != raft.LogConfiguration) {
		return s.readErr(s.wait(ctx, s.raft.Barrier(s.timeout(ctx))))
	}
	if err := s.wait(ctx, s.raft.VerifyLeader()); err != nil {
		return s.readErr(err)
	}
	if s.raft.CurrentTerm() != term {
		return s.notLeader()
	}
	return s.readErr(s.fsm.waitApplied(ctx, ci))
}

func (s *Server) readErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return s.notLeader()
	case errors.Is(err, raft.ErrRaftShutdown):
		return state.ErrShutdown
	case errors.Is(err, state.ErrIndeterminate), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: read barrier: %v", state.ErrTimeout, err)
	}
	return fmt.Errorf("membership: read barrier: %w", err)
}

// Snapshot forces a Raft snapshot now (compacting the log).
func (s *Server) Snapshot(ctx context.Context) error {
	if s.closed.Load() {
		return state.ErrShutdown
	}
	err := s.wait(ctx, s.raft.Snapshot())
	if err == nil || errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil
	}
	return fmt.Errorf("membership: snapshot: %w", err)
}

// State returns a deep copy of the local state (see Sync for freshness).
func (s *Server) State() *state.State {
	var c *state.State
	s.fsm.read(func(st *state.State) { c = st.Clone() })
	return c
}

// Version returns the local state's version (see Status.ConfigVersion).
func (s *Server) Version() uint64 {
	var v uint64
	s.fsm.read(func(st *state.State) { v = st.Version })
	return v
}

func lookup[V any](s *Server, m func(*state.State) map[string]V, key string, clone func(V) V, notFound error) (V, error) {
	var (
		v  V
		ok bool
	)
	s.fsm.read(func(st *state.State) {
		if v, ok = m(st)[key]; ok {
			v = clone(v)
		}
	})
	if !ok {
		return v, fmt.Errorf("%w: %s", notFound, key)
	}
	return v, nil
}

func same[V any](v V) V { return v }

// Member returns a copy of member id (INSTANCE/CLASS/CODE).
func (s *Server) Member(id string) (state.Member, error) {
	return lookup(s, func(st *state.State) map[string]state.Member { return st.Members }, id, state.Member.Clone, state.ErrUnknownMember)
}

// Request returns a copy of registration request id.
func (s *Server) Request(id string) (state.Request, error) {
	return lookup(s, func(st *state.State) map[string]state.Request { return st.Requests }, id, state.Request.Clone, state.ErrUnknownRequest)
}

// Node returns a copy of the node with peerID.
func (s *Server) Node(peerID string) (state.Node, error) {
	return lookup(s, func(st *state.State) map[string]state.Node { return st.Nodes }, peerID, state.Node.Clone, state.ErrUnknownNode)
}

// Subsystem returns subsystem id (INSTANCE/CLASS/CODE/SUBSYSTEM).
func (s *Server) Subsystem(id string) (state.Subsystem, error) {
	return lookup(s, func(st *state.State) map[string]state.Subsystem { return st.Subsystems }, id, same[state.Subsystem], state.ErrUnknownSubsystem)
}

// Service returns a copy of service catalogue entry id.
func (s *Server) Service(id string) (state.Service, error) {
	return lookup(s, func(st *state.State) map[string]state.Service { return st.Services }, id, state.Service.Clone, state.ErrUnknownService)
}

// Group returns a copy of global group code.
func (s *Server) Group(code string) (state.Group, error) {
	return lookup(s, func(st *state.State) map[string]state.Group { return st.Groups }, code, state.Group.Clone, state.ErrUnknownGroup)
}

// lockedReader serialises an injected randomness source.
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}
