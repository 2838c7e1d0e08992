package membership

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

// testConfig is a server config with timings fit for tests under -race on a
// busy two-core machine: elections in a few hundred milliseconds.
func testConfig(id, dir string) store.Config {
	return store.Config{
		ID: id, Dir: dir,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
		ApplyTimeout: 5 * time.Second, NoSync: true,
	}
}

type clusterOpts struct {
	n   int
	tcp bool                // loopback TCP NetworkTransport instead of InmemTransport
	mod func(*store.Config) // adjusts every server's config
	// init replaces the test CA's init_instance; opts adds options to
	// server i (after the in-process forwarder, so a forwarder here wins).
	init func() *state.InitInstance
	opts func(i int) []store.Option
}

// cluster is an in-process registry cluster: on-disk bbolt stores and
// snapshots in t.TempDir, servers wired by InmemTransport (or loopback TCP).
// It can kill, restart and partition servers.
type cluster struct {
	t    testing.TB
	opts clusterOpts
	ca   *regtest.CA

	mu    sync.Mutex
	ids   []string
	dirs  []string
	addrs []raft.ServerAddress
	trans []*raft.InmemTransport
	srv   []*store.Server // nil while down
	side  []int           // partition label; servers talk only within a label
}

// newCluster starts n servers, bootstraps the first, adds the others as
// voters and initialises the registry instance.
func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	c := &cluster{t: t, opts: o, ca: regtest.NewCA(t)}
	t.Cleanup(c.closeAll)
	for range o.n {
		c.addSlot()
	}
	for i := range o.n {
		c.start(i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.server(0).Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	leader := c.waitLeader(0)
	for i := 1; i < o.n; i++ {
		if err := leader.AddVoter(ctx, c.ids[i], string(c.addrs[i])); err != nil {
			t.Fatalf("add voter %s: %v", c.ids[i], err)
		}
	}
	initCmd := c.ca.InitCmd()
	if o.init != nil {
		initCmd = o.init()
	}
	if _, err := leader.Apply(ctx, initCmd); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) addSlot() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := len(c.ids)
	c.ids = append(c.ids, fmt.Sprintf("s%d", i+1))
	c.dirs = append(c.dirs, c.t.TempDir())
	c.addrs = append(c.addrs, raft.ServerAddress(fmt.Sprintf("inmem-s%d", i+1)))
	c.trans = append(c.trans, nil)
	c.srv = append(c.srv, nil)
	c.side = append(c.side, 0)
	return i
}

// start (re)starts server i from its directory.
func (c *cluster) start(i int) *store.Server {
	c.t.Helper()
	cfg := testConfig(c.ids[i], c.dirs[i])
	if c.opts.mod != nil {
		c.opts.mod(&cfg)
	}
	var tr *raft.InmemTransport
	if c.opts.tcp {
		cfg.BindAddr = "127.0.0.1:0"
	} else {
		_, tr = raft.NewInmemTransport(c.addrs[i])
		cfg.Transport = tr
	}
	opts := []store.Option{store.WithLogger(regtest.Logger()), store.WithForwarder(&testForwarder{c: c, from: i})}
	if c.opts.opts != nil {
		opts = append(opts, c.opts.opts(i)...)
	}
	s, err := store.New(cfg, opts...)
	if err != nil {
		c.t.Fatalf("start %s: %v", c.ids[i], err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.srv[i], c.trans[i] = s, tr
	if c.opts.tcp {
		c.addrs[i] = raft.ServerAddress(s.Addr())
	}
	c.rewireLocked()
	return s
}

// kill cuts server i off and shuts it down (Raft shutdown, stores closed).
func (c *cluster) kill(i int) {
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
			c.t.Errorf("close %s: %v", c.ids[i], err)
		}
	}
}

// isolate puts the given servers on their own side of a partition.
func (c *cluster) isolate(ids ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opts.tcp {
		c.t.Fatal("partitions need InmemTransport")
	}
	for i := range c.side {
		c.side[i] = 0
		if slices.Contains(ids, i) {
			c.side[i] = 1
		}
	}
	c.rewireLocked()
}

func (c *cluster) heal() { c.isolate() }

func (c *cluster) rewireLocked() {
	for i, ti := range c.trans {
		if ti == nil {
			continue
		}
		for j, tj := range c.trans {
			if i == j {
				continue
			}
			if c.srv[i] != nil && c.srv[j] != nil && c.side[i] == c.side[j] {
				ti.Connect(c.addrs[j], tj)
			} else {
				ti.Disconnect(c.addrs[j])
			}
		}
	}
}

func (c *cluster) closeAll() {
	for i := range c.srv {
		c.kill(i)
	}
}

func (c *cluster) server(i int) *store.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.srv[i]
}

// up lists the running servers.
func (c *cluster) up() []int {
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

// leaderIndex returns a running server among that claims leadership, or -1.
func (c *cluster) leaderIndex(among ...int) int {
	if len(among) == 0 {
		among = c.up()
	}
	for _, i := range among {
		if s := c.server(i); s != nil && s.IsLeader() {
			return i
		}
	}
	return -1
}

// waitLeader polls until one of among (default: all running) leads.
func (c *cluster) waitLeader(among ...int) *store.Server {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if i := c.leaderIndex(among...); i >= 0 {
			return c.server(i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("no leader among %v", among)
	return nil
}

// waitConverged polls until the given servers (default: all running) hold
// byte-identical canonical states, and returns that encoding.
func (c *cluster) waitConverged(among ...int) []byte {
	c.t.Helper()
	if len(among) == 0 {
		among = c.up()
	}
	deadline := time.Now().Add(20 * time.Second)
	var versions []uint64
	for time.Now().Before(deadline) {
		var first []byte
		same := true
		versions = versions[:0]
		for _, i := range among {
			st := c.server(i).State()
			versions = append(versions, st.Version)
			b, err := st.Encode()
			if err != nil {
				c.t.Fatal(err)
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
	c.t.Fatalf("servers %v did not converge (versions %v)", among, versions)
	return nil
}

// testForwarder hands a follower's write to the leader's ApplyLocal, as the
// HTTPS forwarder will, through the command encoding. It respects
// partitions: a leader on the other side is unreachable.
type testForwarder struct {
	c    *cluster
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
	for j, id := range c.ids {
		if id == leaderID && c.srv[j] != nil && c.srv[f.from] != nil && c.side[j] == c.side[f.from] {
			return c.srv[j], nil
		}
	}
	return nil, fmt.Errorf("%w: leader %s unreachable", state.ErrTimeout, leaderID)
}

// admitVia submits and approves a's registration through s.
func (c *cluster) admitVia(ctx context.Context, s *store.Server, a *regtest.Applicant, reqID string) error {
	if err := c.applyUntil(ctx, s, a.Submit(reqID), reqID, state.RequestPending, state.RequestApproved); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if err := c.applyUntil(ctx, s, a.Approve(c.t, c.ca, reqID), reqID, state.RequestApproved); err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	return nil
}

// applyUntil applies cmd through s as a careful client does: when the
// outcome is unknown or there is no leader for a moment (an election under
// a loaded -race run), it asks the cluster whether request reqID already
// reached one of the wanted statuses and, if not, tries again.
func (c *cluster) applyUntil(ctx context.Context, s *store.Server, cmd state.Command, reqID string, want ...state.RequestStatus) error {
	for {
		_, err := s.Apply(ctx, cmd)
		if err == nil || !(errors.Is(err, state.ErrIndeterminate) || errors.Is(err, state.ErrNotLeader) || errors.Is(err, state.ErrTimeout)) {
			return err
		}
		leader := c.waitLeader()
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

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestClusterStatusForwardingAndReads(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 3})
	ctx := ctxT(t, 30*time.Second)
	leader := c.waitLeader()
	lid := leader.ID()
	var follower *store.Server
	for _, i := range c.up() {
		if s := c.server(i); s.ID() != lid {
			follower = s
			break
		}
	}

	// A write sent to a follower is forwarded and commits.
	a := regtest.NewApplicant(t, "FWD")
	res, err := follower.Apply(ctx, a.Submit("req-fwd"))
	if err != nil || res.Index == 0 || res.Target != "req-fwd" {
		t.Fatalf("forwarded submit: %+v %v", res, err)
	}
	if err := leader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := leader.Request("req-fwd"); err != nil || r.Status != state.RequestPending {
		t.Fatalf("leader does not see the forwarded write: %+v %v", r, err)
	}

	// A follower never applies locally; it names the leader.
	var nl *state.NotLeaderError
	_, err = follower.ApplyLocal(ctx, regtest.NewApplicant(t, "X").Submit("req-x"))
	if !errors.As(err, &nl) || nl.LeaderID != lid || nl.LeaderAddr != leader.Addr() {
		t.Fatalf("ApplyLocal on follower: %v", err)
	}
	if err := follower.Sync(ctx); !errors.Is(err, state.ErrNotLeader) {
		t.Fatalf("Sync on follower: %v", err)
	}
	if err := follower.ChangeVotersLocal(ctx, state.VoterChange{Op: state.VoterAdd, ID: "s9", Addr: "nowhere"}); !errors.As(err, &nl) || nl.LeaderID != lid {
		t.Fatalf("ChangeVotersLocal on follower: %v", err)
	}
	if err := c.server(0).Bootstrap(ctx); !errors.Is(err, state.ErrBootstrapped) {
		t.Fatalf("second bootstrap: %v", err)
	}

	// A business error comes back through forwarding as its sentinel.
	if _, err := follower.Apply(ctx, a.Submit("req-fwd")); !errors.Is(err, state.ErrDuplicateRequest) {
		t.Fatalf("duplicate via follower: %v", err)
	}

	c.waitConverged()
	for _, i := range c.up() {
		st := c.server(i).Status()
		if st.LeaderID != lid || len(st.Servers) != 3 || st.ConfigVersion != res.Index || st.AppliedIndex < res.Index {
			t.Fatalf("status of %s: %+v", st.ID, st)
		}
		voters := 0
		for _, s := range st.Servers {
			if s.Suffrage == "voter" {
				voters++
			}
		}
		if voters != 3 || (st.State == "leader") != (st.ID == lid) {
			t.Fatalf("status of %s: %+v", st.ID, st)
		}
	}
	if _, err := follower.Member(a.Member); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Member(regtest.Instance + "/GOV/NOPE"); !errors.Is(err, state.ErrUnknownMember) {
		t.Fatal(err)
	}
}

func TestClusterAddAndRemoveServers(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 3})
	ctx := ctxT(t, 30*time.Second)
	for i := range 5 {
		if err := c.admitVia(ctx, c.server(i%3), regtest.NewApplicant(t, fmt.Sprintf("M%d", i)), fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth server joins with an empty directory and catches up.
	i := c.addSlot()
	c.start(i)
	leader := c.waitLeader()
	if err := leader.AddVoter(ctx, c.ids[i], string(c.addrs[i])); err != nil {
		t.Fatal(err)
	}
	c.waitConverged()

	// Remove it again (and one more): the remaining servers keep committing.
	for _, id := range []string{c.ids[i], leaderlessID(c, leader)} {
		leader = c.waitLeader()
		if err := leader.RemoveServer(ctx, id); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
	}
	leader = c.waitLeader()
	if n := len(leader.Status().Servers); n != 2 {
		t.Fatalf("%d servers after removals", n)
	}
	if err := c.admitVia(ctx, leader, regtest.NewApplicant(t, "AFTER"), "r-after"); err != nil {
		t.Fatal(err)
	}
}

// leaderlessID names a follower of leader among the first three servers.
func leaderlessID(c *cluster, leader *store.Server) string {
	for _, i := range []int{0, 1, 2} {
		if c.ids[i] != leader.ID() {
			return c.ids[i]
		}
	}
	return ""
}

func TestClusterOverTCP(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 3, tcp: true})
	ctx := ctxT(t, 30*time.Second)
	for i := range 3 {
		if err := c.admitVia(ctx, c.server(i), regtest.NewApplicant(t, fmt.Sprintf("T%d", i)), fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.waitConverged()
}

func TestCommandTooLarge(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1, mod: func(cfg *store.Config) { cfg.MaxCommandSize = 8 << 10 }})
	ctx := ctxT(t, 10*time.Second)
	leader := c.waitLeader()
	v := leader.Version()
	a := regtest.NewApplicant(t, "BIG")
	cmd := a.Submit("req-big")
	row := cmd.Registration.DataCatalogue[0]
	for range 100 {
		cmd.Registration.DataCatalogue = append(cmd.Registration.DataCatalogue, row)
	}
	if _, err := leader.Apply(ctx, cmd); !errors.Is(err, state.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if leader.Version() != v {
		t.Fatal("oversized command committed")
	}
}
