package node_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node/delivery"
)

// BenchmarkDeliveryLarge sends one large document (DXL_BENCH_DELIVERY_MB,
// default 64 MiB) from A's information system to B's inbox and reports
// the throughput from submit to stored, and the largest heap in use
// meanwhile (both nodes run in this process):
//
//	DXL_BENCH_DELIVERY_MB=1024 go test -run '^$' -bench BenchmarkDeliveryLarge -benchtime 1x ./node/
func BenchmarkDeliveryLarge(b *testing.B) {
	mb := 64
	if v, err := strconv.Atoi(os.Getenv("DXL_BENCH_DELIVERY_MB")); err == nil && v > 0 {
		mb = v
	}
	size := int64(mb) << 20
	n := startNetB(b, "")
	c := n.client(b, true)
	c.Timeout = 0
	rcpt := n.SubsystemID(devnet.AgencyB)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	defer close(stop)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		body := io.LimitReader(rand.NewChaCha8([32]byte{1}), size)
		q := url.Values{"recipient": {rcpt}, "title": {"large"}, "type": {"bench"}}
		req, _ := http.NewRequest("POST", "https://"+n.A.Node.APIAddr()+"/dxl/documents?"+q.Encode(), body)
		req.ContentLength = size
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("submit: %d", resp.StatusCode)
		}
		id := resp.Header.Get(delivery.HeaderDocumentID)
		for {
			d, err := n.A.Node.Delivery().Store().Out(id)
			if err != nil {
				b.Fatal(err)
			}
			if st := d.Recipients[0].State; st == delivery.Delivered {
				break
			} else if st.Final() {
				b.Fatalf("%s: %s", st, d.Recipients[0].Reason)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkDeliverySmall submits 10 KB documents from 8 concurrent
// senders and waits until B's node stored every one: documents per
// second from submit to stored, fsync on.
//
//	go test -run '^$' -bench BenchmarkDeliverySmall -benchtime 500x ./node/
func BenchmarkDeliverySmall(b *testing.B) {
	n := startNetB(b, "")
	c := n.client(b, true)
	rcpt := n.SubsystemID(devnet.AgencyB)
	body := make([]byte, 10<<10)
	ids := make(chan string, b.N)
	b.SetBytes(int64(len(body)))
	b.SetParallelism(4) // 4 × GOMAXPROCS senders
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		q := url.Values{"recipient": {rcpt}, "title": {"small"}, "type": {"bench"}}.Encode()
		for pb.Next() {
			resp, err := c.Post("https://"+n.A.Node.APIAddr()+"/dxl/documents?"+q, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("submit: %d", resp.StatusCode)
				return
			}
			ids <- resp.Header.Get(delivery.HeaderDocumentID)
		}
	})
	close(ids)
	for id := range ids {
		for {
			d, err := n.A.Node.Delivery().Store().Out(id)
			if err != nil {
				b.Fatal(err)
			}
			if d.Recipients[0].State == delivery.Delivered {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}
