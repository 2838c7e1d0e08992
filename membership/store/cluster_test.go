package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

func TestClusterStatusForwardingAndReads(t *testing.T) {
	c := storetest.NewCluster(t, storetest.Opts{N: 3})
	ctx := storetest.Context(t, 30*time.Second)
	leader := c.WaitLeader()
	lid := leader.ID()
	var follower *store.Server
	for _, i := range c.Up() {
		if s := c.Server(i); s.ID() != lid {
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
	if err := c.Server(0).Bootstrap(ctx); !errors.Is(err, state.ErrBootstrapped) {
		t.Fatalf("second bootstrap: %v", err)
	}

	// A business error comes back through forwarding as its sentinel.
	if _, err := follower.Apply(ctx, a.Submit("req-fwd")); !errors.Is(err, state.ErrDuplicateRequest) {
		t.Fatalf("duplicate via follower: %v", err)
	}

	c.WaitConverged()
	for _, i := range c.Up() {
		st := c.Server(i).Status()
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
	c := storetest.NewCluster(t, storetest.Opts{N: 3})
	ctx := storetest.Context(t, 30*time.Second)
	for i := range 5 {
		if err := c.AdmitVia(ctx, c.Server(i%3), regtest.NewApplicant(t, fmt.Sprintf("M%d", i)), fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A fourth server joins with an empty directory and catches up.
	i := c.AddSlot()
	c.Start(i)
	leader := c.WaitLeader()
	if err := leader.AddVoter(ctx, c.IDs[i], string(c.Addrs[i])); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged()

	// Remove it again (and one more): the remaining servers keep committing.
	for _, id := range []string{c.IDs[i], leaderlessID(c, leader)} {
		leader = c.WaitLeader()
		if err := leader.RemoveServer(ctx, id); err != nil {
			t.Fatalf("remove %s: %v", id, err)
		}
	}
	leader = c.WaitLeader()
	if n := len(leader.Status().Servers); n != 2 {
		t.Fatalf("%d servers after removals", n)
	}
	if err := c.AdmitVia(ctx, leader, regtest.NewApplicant(t, "AFTER"), "r-after"); err != nil {
		t.Fatal(err)
	}
}

// leaderlessID names a follower of leader among the first three servers.
func leaderlessID(c *storetest.Cluster, leader *store.Server) string {
	for _, i := range []int{0, 1, 2} {
		if c.IDs[i] != leader.ID() {
			return c.IDs[i]
		}
	}
	return ""
}

func TestClusterOverTCP(t *testing.T) {
	c := storetest.NewCluster(t, storetest.Opts{N: 3, TCP: true})
	ctx := storetest.Context(t, 30*time.Second)
	for i := range 3 {
		if err := c.AdmitVia(ctx, c.Server(i), regtest.NewApplicant(t, fmt.Sprintf("T%d", i)), fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.WaitConverged()
}

func TestCommandTooLarge(t *testing.T) {
	c := storetest.NewCluster(t, storetest.Opts{N: 1, Mod: func(cfg *store.Config) { cfg.MaxCommandSize = 8 << 10 }})
	ctx := storetest.Context(t, 10*time.Second)
	leader := c.WaitLeader()
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
