package node_test

import (
	"io"
	"sync"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/services"
)

// TestManyCallsAtOnce: 150 calls at once from one information system,
// over one consumer node to one provider node, all answered. libp2p's
// default stream limit per protocol and peer (about 70 on this kind of
// machine) refused nearly half of them as provider_unreachable
// (transport.PeerStreams).
func TestManyCallsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network")
	}
	t.Parallel()
	const workers, each = 150, 10
	n := startNetTB(t, func(c *node.Config) { c.APILimits.MaxConnsPerIP = 2 * workers }, func(c *node.Config) {
		c.RateLimits.Defaults = services.Limits{ReadsPerMin: 100_000_000, WritesPerMin: 100_000_000}
	})
	c := n.client(t, true)
	var mu sync.Mutex
	failed := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				why := ""
				resp, err := c.Get(n.url("/bench"))
				if err != nil {
					why = err.Error()
				} else {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || err != nil {
						why = resp.Status + " " + resp.Header.Get(node.HeaderError)
					}
				}
				if why != "" {
					mu.Lock()
					failed[why]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for why, k := range failed {
		t.Errorf("%d of %d calls failed: %s", k, workers*each, why)
	}
}
