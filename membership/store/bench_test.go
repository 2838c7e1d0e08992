package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// BenchmarkCommittedAdmissions measures committed admissions (a submit and
// an approve, each acknowledged after a Raft commit on a 3-server cluster
// with fsync on) per second, with one client and with 16 concurrent clients
// (whose writes Raft batches). Certificates are issued before the timer
// starts; the proposer work (CSR and certificate parsing) is included.
func BenchmarkCommittedAdmissions(b *testing.B) {
	for _, tc := range []struct {
		name    string
		tcp     bool
		clients int
	}{
		{"inmem/clients=1", false, 1},
		{"inmem/clients=16", false, 16},
		{"tcp/clients=1", true, 1},
		{"tcp/clients=16", true, 16},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := storetest.NewCluster(b, storetest.Opts{N: 3, TCP: tc.tcp, Mod: func(cfg *store.Config) { cfg.NoSync = false }})
			leader := c.WaitLeader()
			subs := make([]*state.SubmitRegistration, b.N)
			apps := make([]*state.ApproveRegistration, b.N)
			for i := range b.N {
				a := regtest.NewApplicant(b, fmt.Sprintf("B%07d", i))
				id := fmt.Sprintf("req-%07d", i)
				subs[i], apps[i] = a.Submit(id), a.Approve(b, c.CA, id)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range tc.clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1) - 1)
						if i >= b.N {
							return
						}
						if _, err := leader.Apply(ctx, subs[i]); err != nil {
							b.Error(err)
							return
						}
						if _, err := leader.Apply(ctx, apps[i]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "admissions/s")
		})
	}
}
