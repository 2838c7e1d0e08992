package node_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
)

// TestOpenCloseWithMetrics opens a node serving metrics and closes it at
// once: Close must see the metrics server the start-up created (no data
// race, no Serve left running).
func TestOpenCloseWithMetrics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nw, err := devnet.Start(ctx, devnet.Options{Dir: t.TempDir(), FastRaft: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	a := devnet.AgencyA
	a.Configure = func(c *node.Config) { c.MetricsListen = "127.0.0.1:0" }
	h, err := nw.Admit(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	h.Stop()
	for range 3 {
		n, err := node.Open(ctx, h.Dir, []byte(devnet.Passphrase), node.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { n.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Close did not return")
		}
	}
}
