package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

// ServerConfig is a server config with timings fit for tests under -race on a
// busy two-core machine: elections in a few hundred milliseconds.
func ServerConfig(id, dir string) store.Config {
	return store.Config{
		ID: id, Dir: dir,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
		ApplyTimeout: 5 * time.Second, NoSync: true,
	}
}

// Opts configures a Cluster.
type Opts struct {
	N   int
	TCP bool                // loopback TCP NetworkTransport instead of InmemTransport
	Mod func(*store.Config) // adjusts every server's config
	// init replaces the test CA's init_instance; opts adds options to
	// server i (after the in-process forwarder, so a forwarder here wins).
	Init          func() *state.InitInstance
	ServerOptions func(i int) []store.Option
}

// Cluster is an in-process registry cluster: on-disk bbolt stores and
// snapshots in t.TempDir, servers wired by InmemTransport (or loopback TCP).
// It can kill, restart and partition servers.
type Cluster struct {
	T    testing.TB
	opts Opts
	CA   *regtest.CA

	mu    sync.Mutex
	IDs   []string
	dirs  []string
	Addrs []raft.ServerAddress
	trans []*raft.InmemTransport
	srv   []*store.Server // nil while down
	side  []int           // partition label; servers talk only within a label
}

// NewCluster starts n servers, bootstraps the first, adds the others as
// voters and initialises the registry instance.
func NewCluster(t testing.TB, o Opts) *Cluster {
	t.Helper()
	c := &Cluster{T: t, opts: o, CA: regtest.NewCA(t)}
	t.Cleanup(c.CloseAll)
	for range o.N {
		c.AddSlot()
	}
	for i := range o.N {
		c.Start(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Server(0).Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	leader := c.WaitLeader(0)
	for i := 1; i < o.N; i++ {
		if err := leader.AddVoter(ctx, c.IDs[i], string(c.Addrs[i])); err != nil {
			t.Fatalf("add voter %s: %v", c.IDs[i], err)
		}
	}
	initCmd := c.CA.InitCmd()
	if o.Init != nil {
		initCmd = o.Init()
	}
	if _, err := leader.Apply(ctx, initCmd); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *Cluster) AddSlot() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.IDs)
	c.IDs = append(c.IDs, fmt.Sprintf("s%d", i+1))
	c.dirs = append(c.dirs, c.T.TempDir())
	c.Addrs = append(c.Addrs, raft.ServerAddress(fmt.Sprintf("inmem-s%d", i+1)))
	c.trans = append(c.trans, nil)
	c.srv = append(c.srv, nil)
	c.side = append(c.side, 0)
	return i
}

// Start (re)starts server i from its directory.
func (c *Cluster) Start(i int) *store.Server {
	c.T.Helper()
	cfg := ServerConfig(c.IDs[i], c.dirs[i])
	if c.opts.Mod != nil {
		c.opts.Mod(&cfg)
	}
	var tr *raft.InmemTransport
	if c.opts.TCP {
		cfg.BindAddr = "127.0.0.1:0"
	} else {
		_, tr = raft.NewInmemTransport(c.Addrs[i])
		cfg.Transport = tr
	}
	opts := []store.Option{store.WithLogger(regtest.Logger()), store.WithForwarder(&testForwarder{c: c, from: i})}
	if c.opts.ServerOptions != nil {
		opts = append(opts, c.opts.ServerOptions(i)...)
	}
	s, err := store.New(cfg, opts...)
	if err != nil {
		c.T.Fatalf("start %s: %v", c.IDs[i], err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.srv[i], c.trans[i] = s, tr
	if c.opts.TCP {
		c.Addrs[i] = raft.ServerAddress(s.Addr())
	}
	c.rewireLocked()
	return s
}

// Kill cuts server i off and shuts it down (Raft shutdown, stores closed).
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	s := c.srv[i]
	c.srv[i] = nil
	if c.trans[i] != nil {
		c.trans[i].DisconnectAll()
	}
	c.rewireLocked()
	c.mu.Unlock()
	if s != nil {
		if err := s.Close(); err != nil {
			c.T.Errorf("close %s: %v", c.IDs[i], err)
		}
	}
}

// Isolate puts the given servers on their own side of a partition.
func (c *Cluster) Isolate(ids ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.TCP {
		c.T.Fatal("partitions need InmemTransport")
	}
	for i := range c.side {
		c.side[i] = 0
		if slices.Contains(ids, i) {
			c.side[i] = 1
		}
	}
	c.rewireLocked()
}

func (c *Cluster) Heal() { c.Isolate() }

func (c *Cluster) rewireLocked() {
	for i, ti := range c.trans {
		if ti == nil {
			continue
		}
		for j, tj := range c.trans {
			if i == j {
				continue
			}
			if c.srv[i] != nil && c.srv[j] != nil && c.side[i] == c.side[j] {
				ti.Connect(c.Addrs[j], tj)
			} else {
				ti.Disconnect(c.Addrs[j])
			}
		}
	}
}

func (c *Cluster) CloseAll() {
	for i := range c.srv {
		c.Kill(i)
	}
}

func (c *Cluster) Server(i int) *store.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv[i]
}

// Up lists the running servers.
func (c *Cluster) Up() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for i, s := range c.srv {
		if s != nil {
			out = append(out, i)
		}
	}
	return out
}

// LeaderIndex returns a running server among that claims leadership, or -1.
func (c *Cluster) LeaderIndex(among ...int) int {
	if len(among) == 0 {
		among = c.Up()
	}
	for _, i := range among {
		if s := c.Server(i); s != nil && s.IsLeader() {
			return i
		}
	}
	return -1
}

// WaitLeader polls until one of among (default: all running) leads.
func (c *Cluster) WaitLeader(among ...int) *store.Server {
	c.T.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if i := c.LeaderIndex(among...); i >= 0 {
			return c.Server(i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.T.Fatalf("no leader among %v", among)
	return nil
}

// WaitConverged polls until the given servers (default: all running) hold
// byte-identical canonical states, and returns that encoding.
func (c *Cluster) WaitConverged(among ...int) []byte {
	c.T.Helper()
	if len(among) == 0 {
		among = c.Up()
	}
	deadline := time.Now().Add(20 * time.Second)
	var versions []uint64
	for time.Now().Before(deadline) {
		var first []byte
		same := true
		versions = versions[:0]
		for _, i := range among {
			st := c.Server(i).State()
			versions = append(versions, st.Version)
			b, err := st.Encode()
			if err != nil {
				c.T.Fatal(err)
			}
			if first == nil {
				first = b
			} else if !bytes.Equal(first, b) {
				same = false
			}
		}
		if same {
			return first
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.T.Fatalf("servers %v did not converge (versions %v)", among, versions)
	return nil
}

// testForwarder hands a follower's write to the leader's ApplyLocal, as the
// HTTPS forwarder will, through the command encoding. It respects
// partitions: a leader on the other side is unreachable.
type testForwarder struct {
	c    *Cluster
	from int
}

func (f *testForwarder) Forward(ctx context.Context, leaderID, _ string, cmd state.Command) (state.Result, error) {
	target, err := f.leader(leaderID)
	if err != nil {
		return state.Result{}, err
	}
	b, err := state.EncodeCommand(cmd)
	if err != nil {
		return state.Result{}, err
	}
	dec, err := state.DecodeCommand(b)
	if err != nil {
		return state.Result{}, err
	}
	return target.ApplyLocal(ctx, dec)
}

func (f *testForwarder) ForwardVoterChange(ctx context.Context, leaderID, _ string, ch state.VoterChange) error {
	target, err := f.leader(leaderID)
	if err != nil {
		return err
	}
	return target.ChangeVotersLocal(ctx, ch)
}

// leader returns the server leaderID if it is reachable from f.from.
func (f *testForwarder) leader(leaderID string) (*store.Server, error) {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, id := range c.IDs {
		if id == leaderID && c.srv[j] != nil && c.srv[f.from] != nil && c.side[j] == c.side[f.from] {
			return c.srv[j], nil
		}
	}
	return nil, fmt.Errorf("%w: leader %s unreachable", state.ErrTimeout, leaderID)
}

// AdmitVia submits and approves a's registration through s.
func (c *Cluster) AdmitVia(ctx context.Context, s *store.Server, a *regtest.Applicant, reqID string) error {
	if err := c.ApplyUntil(ctx, s, a.Submit(reqID), reqID, state.RequestPending, state.RequestApproved); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if err := c.ApplyUntil(ctx, s, a.Approve(c.T, c.CA, reqID), reqID, state.RequestApproved); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	return nil
}

// ApplyUntil applies cmd through s as a careful client does: when the
// outcome is unknown or there is no leader for a moment (an election under
// a loaded -race run), it asks the cluster whether request reqID already
// reached one of the wanted statuses and, if not, tries again.
func (c *Cluster) ApplyUntil(ctx context.Context, s *store.Server, cmd state.Command, reqID string, want ...state.RequestStatus) error {
	for {
		_, err := s.Apply(ctx, cmd)
		if err == nil || !(errors.Is(err, state.ErrIndeterminate) || errors.Is(err, state.ErrNotLeader) || errors.Is(err, state.ErrTimeout)) {
			return err
		}
		leader := c.WaitLeader()
		if leader.Sync(ctx) == nil {
			if r, lerr := leader.Request(reqID); lerr == nil && slices.Contains(want, r.Status) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		}
	}
}

func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
