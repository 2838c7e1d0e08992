package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// ackLog records which admissions a client saw acknowledged.
type ackLog struct {
	mu        sync.Mutex
	submitted []string // request IDs whose submit returned success
	approved  []string // request IDs whose approve returned success
	members   map[string]string
	failures  map[string]int // error code → count
}

func (l *ackLog) counts() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.submitted), len(l.approved)
}

// TestFaultKillLeaderDuringAdmissions: a client streams submit+approve
// pairs through random servers while the leader is killed. Every write
// that returned success must be in the state of the new leader and of every
// server afterwards, and the cluster must keep accepting writes.
func TestFaultKillLeaderDuringAdmissions(t *testing.T) {
	c := storetest.NewCluster(t, storetest.Opts{N: 3})
	acks := &ackLog{members: map[string]string{}, failures: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			up := c.Up()
			s := c.Server(up[rng.IntN(len(up))])
			if s == nil {
				continue
			}
			a := regtest.NewApplicant(t, fmt.Sprintf("K%04d", i))
			id := fmt.Sprintf("req-%04d", i)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := s.Apply(ctx, a.Submit(id))
			if err == nil {
				acks.mu.Lock()
				acks.submitted = append(acks.submitted, id)
				acks.members[id] = a.Member
				acks.mu.Unlock()
				_, err = s.Apply(ctx, a.Approve(t, c.CA, id))
				if err == nil {
					acks.mu.Lock()
					acks.approved = append(acks.approved, id)
					acks.mu.Unlock()
				}
			}
			cancel()
			if err != nil {
				acks.mu.Lock()
				acks.failures[state.Codes.Code(err)]++
				acks.mu.Unlock()
				time.Sleep(5 * time.Millisecond) // no leader yet: do not spin
			}
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	waitFor("admissions before the kill", func() bool { _, n := acks.counts(); return n >= 15 })
	old := c.LeaderIndex()
	if old < 0 {
		t.Fatal("no leader")
	}
	c.Kill(old)
	_, atKill := acks.counts()
	waitFor("admissions after the kill", func() bool { _, n := acks.counts(); return n >= atKill+15 })
	close(stop)
	wg.Wait()

	leader := c.WaitLeader()
	if leader.ID() == c.IDs[old] {
		t.Fatal("killed server still leads")
	}
	ctx := storetest.Context(t, 20*time.Second)
	if err := leader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	check := func(s *store.Server) {
		t.Helper()
		acks.mu.Lock()
		defer acks.mu.Unlock()
		for _, id := range acks.submitted {
			if _, err := s.Request(id); err != nil {
				t.Fatalf("%s lost acknowledged submission %s: %v", s.ID(), id, err)
			}
		}
		for _, id := range acks.approved {
			r, _ := s.Request(id)
			m, err := s.Member(acks.members[id])
			if r.Status != state.RequestApproved || err != nil || m.Status != ident.MemberActive {
				t.Fatalf("%s lost acknowledged approval %s: request %s, member %+v", s.ID(), id, r.Status, m)
			}
		}
	}
	check(leader)

	// The killed server comes back and every server converges.
	c.Start(old)
	c.WaitConverged()
	for _, i := range c.Up() {
		check(c.Server(i))
	}
	sub, app := acks.counts()
	t.Logf("acknowledged %d submissions, %d approvals; failures by code %v", sub, app, acks.failures)
}

// TestPartitionMinorityCannotCommit isolates one server (the leader, then a
// follower). Writes sent through it fail and are never visible anywhere,
// the majority keeps committing, and after healing the isolated server
// catches up.
func TestPartitionMinorityCannotCommit(t *testing.T) {
	for _, isolateLeader := range []bool{true, false} {
		name := map[bool]string{true: "leader", false: "follower"}[isolateLeader]
		t.Run(name, func(t *testing.T) {
			c := storetest.NewCluster(t, storetest.Opts{N: 3})
			ctx := storetest.Context(t, 60*time.Second)
			leader := c.WaitLeader()
			if err := c.AdmitVia(ctx, leader, regtest.NewApplicant(t, "PRE"), "req-pre"); err != nil {
				t.Fatal(err)
			}
			c.WaitConverged()

			iso := c.LeaderIndex()
			if !isolateLeader {
				iso = (iso + 1) % 3
			}
			var majority []int
			for i := range 3 {
				if i != iso {
					majority = append(majority, i)
				}
			}
			c.Isolate(iso)

			// Writes through the isolated server fail.
			var lost []string
			for k := range 3 {
				id := fmt.Sprintf("req-iso-%d", k)
				wctx, cancel := context.WithTimeout(ctx, time.Second)
				_, err := c.Server(iso).Apply(wctx, regtest.NewApplicant(t, fmt.Sprintf("ISO%d", k)).Submit(id))
				cancel()
				if err == nil {
					t.Fatalf("write %s through the isolated server succeeded", id)
				}
				if !errors.Is(err, state.ErrIndeterminate) && !errors.Is(err, state.ErrNotLeader) && !errors.Is(err, state.ErrTimeout) {
					t.Fatalf("write through the isolated server: unexpected %v", err)
				}
				lost = append(lost, id)
			}
			if c.Server(iso).IsLeader() {
				t.Fatal("isolated server still claims leadership after its lease")
			}

			// The majority elects a leader (or keeps its own) and commits.
			newLeader := c.WaitLeader(majority...)
			for k := range 3 {
				a := regtest.NewApplicant(t, fmt.Sprintf("MAJ%d", k))
				if err := c.AdmitVia(ctx, c.Server(majority[k%2]), a, fmt.Sprintf("req-maj-%d", k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := newLeader.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			for _, id := range lost {
				for _, i := range majority {
					if _, err := c.Server(i).Request(id); !errors.Is(err, state.ErrUnknownRequest) {
						t.Fatalf("minority write %s visible on %s", id, c.IDs[i])
					}
				}
			}

			// Heal: the isolated server catches up and drops what it never
			// committed.
			c.Heal()
			c.WaitConverged()
			isoSrv := c.Server(iso)
			for k := range 3 {
				if r, err := isoSrv.Request(fmt.Sprintf("req-maj-%d", k)); err != nil || r.Status != state.RequestApproved {
					t.Fatalf("isolated server did not catch up: %+v %v", r, err)
				}
			}
			for _, id := range lost {
				if _, err := isoSrv.Request(id); !errors.Is(err, state.ErrUnknownRequest) {
					t.Fatalf("uncommitted write %s survived on the isolated server", id)
				}
			}
		})
	}
}

// TestRestartCatchesUpFromDiskAndSnapshot: a follower that stopped
// restarts from its own directory (snapshot + log) with exactly the state
// it had, and then catches up by InstallSnapshot because the leader has
// compacted the entries it missed. A second follower catches up by log
// replay.
func TestRestartCatchesUpFromDiskAndSnapshot(t *testing.T) {
	c := storetest.NewCluster(t, storetest.Opts{N: 3, Mod: func(cfg *store.Config) {
		cfg.SnapshotThreshold = 16
		cfg.TrailingLogs = 8
		cfg.SnapshotInterval = time.Hour // snapshots happen when the test says
	}})
	ctx := storetest.Context(t, 60*time.Second)
	admit := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			s := c.WaitLeader()
			if err := c.AdmitVia(ctx, s, regtest.NewApplicant(t, fmt.Sprintf("R%03d", i)), fmt.Sprintf("req-%03d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	admit(0, 10)
	c.WaitConverged()
	for _, i := range c.Up() {
		if err := c.Server(i).Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f := (c.LeaderIndex() + 1) % 3
	before, err := c.Server(f).State().Encode()
	if err != nil {
		t.Fatal(err)
	}
	lastBefore := c.Server(f).Status().LastIndex
	c.Kill(f)

	admit(10, 30)
	leader := c.WaitLeader()
	if err := leader.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := leader.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	if first <= lastBefore+1 {
		t.Fatalf("leader log starts at %d, follower stopped at %d: no snapshot install would be needed", first, lastBefore)
	}

	// Restart cut off from the others: the state comes from disk alone.
	c.Isolate(f)
	s := c.Start(f)
	if got, _ := s.State().Encode(); !bytes.Equal(got, before) {
		t.Fatal("restarted server's state differs from the state it stopped with")
	}
	c.Heal()
	want := c.WaitConverged()
	if st, _ := state.DecodeState(want); len(st.Members) != 30 {
		t.Fatalf("%d members after catch-up", len(st.Members))
	}

	// The other follower: stop, miss a few writes (kept in the log), restart.
	g := -1
	for i := range 3 {
		if i != f && i != c.LeaderIndex() {
			g = i
		}
	}
	c.Kill(g)
	admit(30, 33)
	c.Start(g)
	c.WaitConverged()
}
