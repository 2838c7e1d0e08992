package confsync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestPropagationScale measures, at DXL_PROP_NODES light nodes (each
// linked to DXL_PROP_DEGREE others, default 6) against a real registry,
// approval → every node holding the new version over DXL_PROP_CHANGES
// approvals (default 5): p50/p99/max of the per-node delays and of the
// all-nodes delay, the bytes the registry sent per change (TLS included)
// and the process CPU per change, against a control of approvals with no
// node listening (the registry's own work: admission, Raft, signing).
// DXL_PROP_DIRECT=k lets only the first k nodes reach the registry: the
// others learn every change over the relay.
//
//	DXL_PROP_NODES=100 go test -run TestPropagationScale -v ./node/confsync/
func TestPropagationScale(t *testing.T) {
	n := envInt("DXL_PROP_NODES", 0)
	if n == 0 || testing.Short() {
		t.Skip("set DXL_PROP_NODES (e.g. 100) to run; not under -short")
	}
	changes, degree := envInt("DXL_PROP_CHANGES", 5), envInt("DXL_PROP_DEGREE", 6)
	direct := min(envInt("DXL_PROP_DIRECT", n), n) // nodes that reach the registry; the others rely on the relay
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tn := newTestnet(t)
	start := time.Now()
	nodes := tn.addNodes(ctx, n)
	for _, nd := range nodes {
		tn.fetch(ctx, nd)
	}
	t.Logf("setup: %d nodes admitted and fetched in %s; configuration %d bytes signed",
		n, time.Since(start).Round(time.Millisecond), len(nodes[0].conf.Signed()))

	// Control: the registry's work per approval with no node listening
	// (admission, Raft, signing the new version).
	ctrlCPU := measureCPU(func() {
		for range changes {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			v := tn.admit(ctx, k, []string{"/ip4/127.0.0.1/tcp/9"})
			waitFor(t, "the registry to sign the approval", func() bool {
				st, err := tn.reg.Admin.Status(ctx)
				if err != nil || st.PublishedVersion < v {
					time.Sleep(20 * time.Millisecond)
					return false
				}
				return true
			})
		}
	}) / time.Duration(changes)
	for i, nd := range nodes {
		tn.fetch(ctx, nd)
		if i >= direct {
			nd.cutOff()
		}
		tn.startRelay(nd)
	}
	tn.connect(ctx, nodes, degree)
	waitFor(t, "topic meshes", func() bool {
		for _, nd := range nodes {
			if nd.relay.TopicPeers() < degree {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // let the meshes settle (heartbeats), and every long-poll be held
	// Idle: what the nodes, their relays and held long-polls cost with no change.
	idle := measureCPU(func() { time.Sleep(2 * time.Second) }) / 2

	var perNode, allNodes []time.Duration
	var bytes int64
	var cpu, wall time.Duration
	for range changes {
		b0 := tn.regBytes.Load()
		var v uint64
		var at time.Time
		w0 := time.Now()
		cpu += measureCPU(func() {
			_, k, _ := ed25519.GenerateKey(rand.Reader)
			v, at = tn.admitAt(ctx, k, []string{"/ip4/127.0.0.1/tcp/9"})
			waitAll(t, nodes, v, time.Minute)
			settle(&tn.regBytes)
		})
		wall += time.Since(w0)
		bytes += tn.regBytes.Load() - b0
		var last time.Duration
		for _, nd := range nodes {
			got, _ := nd.reached(v)
			d := got.Sub(at)
			perNode = append(perNode, d)
			last = max(last, d)
		}
		allNodes = append(allNodes, last)
		time.Sleep(500 * time.Millisecond) // the long-polls are held again
	}
	var pub, fwd, ign, rej int64
	for _, nd := range nodes {
		s := nd.relay.Stats()
		pub, fwd, ign, rej = pub+s.Published.Load(), fwd+s.Forwarded.Load(), ign+s.Ignored.Load(), rej+s.Rejected.Load()
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, int(q*float64(len(s))))].Round(100 * time.Microsecond)
	}
	t.Logf("%d nodes (%d reach the registry), degree %d, %d changes, configuration %d bytes signed",
		n, direct, degree, changes, len(nodes[0].conf.Signed()))
	t.Logf("approval → node: p50 %s  p99 %s  max %s", p(perNode, .5), p(perNode, .99), p(perNode, 1))
	t.Logf("approval → all %d nodes: p50 %s  max %s", n, p(allNodes, .5), p(allNodes, 1))
	t.Logf("registry bytes sent per change: %d (%.1f per node)", bytes/int64(changes), float64(bytes)/float64(changes*n))
	perChange := cpu / time.Duration(changes)
	idleShare := time.Duration(float64(idle) * (wall / time.Duration(changes)).Seconds())
	t.Logf("process CPU per change: %s, of which idle background %s (%s/s: heartbeats, held polls); "+
		"registry alone (control, no node listening): %s; the rest is the registry serving %d nodes, their verifications and the relay",
		perChange.Round(time.Millisecond), idleShare.Round(time.Millisecond), idle.Round(time.Millisecond),
		ctrlCPU.Round(time.Millisecond), n)
	t.Logf("relay totals: published %d, forwarded %d, ignored %d, rejected %d", pub, fwd, ign, rej)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// measureCPU returns the process CPU time (user + system) f takes.
func measureCPU(f func()) time.Duration {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0 := cpu()
	f()
	return cpu() - c0
}

// settle waits until n has not moved for 200 ms: the answers still in
// flight when the last node got the version over the relay have arrived.
func settle(n interface{ Load() int64 }) {
	last, since := n.Load(), time.Now()
	for time.Since(since) < 200*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
		if v := n.Load(); v != last {
			last, since = v, time.Now()
		}
	}
}
