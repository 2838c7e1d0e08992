package node_test

import (
	"context"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node"
)

// cutter is a dialer for the nodes' configuration clients that can cut
// the second client opened off the registry (its connections closed, new
// ones refused).
type cutter struct {
	opened  atomic.Int32
	mu      sync.Mutex
	cut     bool
	conns   []net.Conn
	refused atomic.Int32
}

func (c *cutter) option() globalconf.Option {
	return func(o *globalconf.Options) {
		second := c.opened.Add(1) == 2
		var d net.Dialer
		o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if second && c.cut {
				c.refused.Add(1)
				return nil, os.ErrDeadlineExceeded
			}
			conn, err := d.DialContext(ctx, network, addr)
			if err == nil && second {
				c.conns = append(c.conns, conn)
			}
			return conn, err
		}
	}
}

func (c *cutter) cutNow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
}

// TestEndToEndConfigPropagation: with the poll interval at an hour, a
// change reaches both nodes without a refresh call: one by its long-poll,
// the other, cut off from the registry, from its peer over the relay.
func TestEndToEndConfigPropagation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds its own network: full suite only (-short skips it)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var c cutter
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: t.TempDir(), Logger: testLogger(), FastRaft: true,
		ConfigInterval: time.Hour, NodeOptions: []node.Option{node.WithGlobalConfigOptions(c.option())}}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.WaitConfig(ctx, d.A, d.B); err != nil {
		t.Fatal(err)
	}
	// Both hold each other in their configurations now; connect rather
	// than wait for the next probe.
	if err := d.A.Node.Host().Connect(ctx, peer.AddrInfo{ID: d.B.Node.PeerID(), Addrs: d.B.Node.Addrs()}); err != nil {
		t.Fatal(err)
	}
	c.cutNow()
	if err := d.Publish(ctx, d.SubsystemID(devnet.AgencyB), "propagated", "v1", nil); err != nil {
		t.Fatal(err)
	}
	want := d.Registry.Server().State().Version
	waitUntil(t, ctx, "both nodes at the new version", func() bool {
		return d.A.Node.ConfigVersion() >= want && d.B.Node.ConfigVersion() >= want
	})
	if c.refused.Load() == 0 {
		t.Fatal("the cut node never tried the registry")
	}
}

func waitUntil(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
