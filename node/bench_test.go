package node_test

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node"
)

// BenchmarkCall compares calling the sample backend directly with calling
// it through the two-node DXL path (A's consumer API, A's node, libp2p,
// B's node, the backend), 1 KiB JSON answers, at concurrency 1 and 64:
// "dxl" with the message log and operational records on both nodes (as
// always in production), each call's records synced to disk in the
// journal before its answer (durability "disk", the default);
// "dxl-process" with durability "process" (written to the journal, not
// synced); "dxl-nolog" without the two logs, to measure their cost.
// Besides ns/op it reports req/s and p50/p99 latency in µs.
//
//	go test -run '^$' -bench BenchmarkCall -benchtime 5000x ./node/
func BenchmarkCall(b *testing.B) {
	n := startNetB(b, "")
	proc := startNetB(b, "process")
	bare := startNetB(b, "", node.WithoutLogs())
	dxl, dxlProc, dxlBare := n.client(b, true), proc.client(b, true), bare.client(b, true)
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	for _, c := range []*http.Client{dxl, dxlProc, dxlBare} {
		c.Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	}
	for _, conc := range []int{1, 64} {
		for _, path := range []struct {
			name string
			c    *http.Client
			url  string
		}{
			{"direct", direct, n.BackendURL + "/bench"},
			{"dxl", dxl, n.url("/bench")},
			{"dxl-process", dxlProc, proc.url("/bench")},
			{"dxl-nolog", dxlBare, bare.url("/bench")},
		} {
			b.Run(path.name+"/c="+itoa(conc), func(b *testing.B) { load(b, path.c, path.url, conc) })
		}
	}
}

func load(b *testing.B, c *http.Client, url string, conc int) {
	get := func() time.Duration {
		start := time.Now()
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != 1024 {
			b.Fatalf("%s: %d, %d bytes", url, resp.StatusCode, n)
		}
		return time.Since(start)
	}
	for i := 0; i < 2*conc; i++ { // warm connections
		get()
	}
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= b.N {
					return
				}
				lat[k] = get()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func itoa(i int) string {
	if i == 1 {
		return "1"
	}
	return "64"
}

// BenchmarkStream streams a 64 MiB body to the sample backend's /echo and
// back, directly and through the two-node path (logs on), reporting MB/s
// of body each way.
//
//	go test -run '^$' -bench BenchmarkStream -benchtime 5x ./node/
func BenchmarkStream(b *testing.B) {
	n := startNetB(b, "")
	const size = 64 << 20
	for _, path := range []struct {
		name string
		c    *http.Client
		url  string
	}{{"direct", &http.Client{}, n.BackendURL + "/echo"}, {"dxl", n.client(b, true), n.url("/echo")}} {
		b.Run(path.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				req, _ := http.NewRequest("POST", path.url, io.LimitReader(zeros{}, size))
				req.ContentLength = size
				resp, err := path.c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				k, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || k != size {
					b.Fatalf("%d, %d bytes", resp.StatusCode, k)
				}
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
