package node_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/envelope"
)

// BenchmarkDeliveryLarge sends one large document (DXL_BENCH_DELIVERY_MB,
// default 16 MiB) from A's information system to B's inbox and reports
// the throughput from submit to stored, beside a plain copy of the same
// bytes over loopback TCP in the same run (MB/s of both, and their
// ratio), and the largest heap in use meanwhile (both nodes run in this
// process):
//
//	DXL_BENCH_DELIVERY_MB=1024 go test -run '^$' -bench BenchmarkDeliveryLarge -benchtime 1x ./node/
func BenchmarkDeliveryLarge(b *testing.B) {
	mb := 16
	if v, err := strconv.Atoi(os.Getenv("DXL_BENCH_DELIVERY_MB")); err == nil && v > 0 {
		mb = v
	}
	size := int64(mb) << 20
	n := startNetB(b, "")
	c := n.client(b, true)
	c.Timeout = 0
	rcpt := n.SubsystemID(devnet.AgencyB)
	peak, stop := heapPeak()
	defer stop()
	var tcp time.Duration
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		tcp += tcpCopy(b, size)
		b.StartTimer()
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
		waitOut(b, n, resp.Header.Get(delivery.HeaderDocumentID), delivery.Delivered)
	}
	b.StopTimer()
	dxl := float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
	plain := float64(size) * float64(b.N) / tcp.Seconds() / 1e6
	b.ReportMetric(dxl, "dxl-MB/s")
	b.ReportMetric(plain, "tcp-MB/s")
	b.ReportMetric(dxl/plain, "ratio")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// heapPeak samples the heap in use until stop.
func heapPeak() (*atomic.Uint64, func()) {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	return &peak, func() { close(done) }
}

// tcpCopy copies size bytes of the same generator over a loopback TCP
// connection and returns how long it took until the reader had them all.
func tcpCopy(b *testing.B, size int64) time.Duration {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	got := make(chan int64, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			got <- -1
			return
		}
		defer conn.Close()
		n, _ := io.CopyBuffer(io.Discard, conn, make([]byte, 64<<10))
		got <- n
	}()
	start := time.Now()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(conn, io.LimitReader(rand.NewChaCha8([32]byte{1}), size), make([]byte, 64<<10)); err != nil {
		b.Fatal(err)
	}
	conn.Close()
	if n := <-got; n != size {
		b.Fatalf("tcp copy: %d of %d bytes", n, size)
	}
	return time.Since(start)
}

// waitOut waits until A's outbox has document id's only recipient in
// state st.
func waitOut(b *testing.B, n *testNet, id string, st delivery.State) {
	for {
		d, err := n.A.Node.Delivery().Store().Out(id)
		if err != nil {
			b.Fatal(err)
		}
		if got := d.Recipients[0].State; got == st {
			return
		} else if got.Final() {
			b.Fatalf("%s: %s", got, d.Recipients[0].Reason)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
		waitOut(b, n, id, delivery.Delivered)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkDeliveryRate is the whole round of documents of 10 KB and
// 1 MB from 1 and 32 concurrent senders: A's information system submits,
// B's is notified on its event stream (or finds the document listing its
// inbox), acknowledges at once, and the signed receipt comes back to A.
// It reports documents per second from the first submit to the last
// receipt stored at A, and the 50th and 99th percentiles of the time
// from a submit to B's notification; fsync on.
//
//	go test -run '^$' -bench BenchmarkDeliveryRate -benchtime 500x ./node/
func BenchmarkDeliveryRate(b *testing.B) {
	r := newRig(b)
	for _, size := range []int{10 << 10, 1 << 20} {
		for _, senders := range []int{1, 32} {
			b.Run(fmt.Sprintf("size=%dKB/senders=%d", size>>10, senders), func(b *testing.B) {
				r.run(b, make([]byte, size), senders)
			})
		}
	}
}

// rig is A's and B's information systems around the benchmark network.
type rig struct {
	n     *testNet
	a     *http.Client // A's information system (client certificate)
	b     *http.Client // B's, with bToken
	bTok  string
	bBase string
	rcpt  string

	mu       sync.Mutex
	start    map[string]time.Time     // document ID → submit
	notified map[string]time.Duration // → submit to B's notification
	acking   map[string]bool
	done     map[string]bool // → receipt stored at A
	finished chan struct{}   // closed when done has want entries
	want     int
}

func newRig(b *testing.B) *rig {
	n := startNetB(b, "")
	sub := n.SubsystemID(devnet.AgencyB)
	cred, err := n.B.Node.Auth().Create(n.ctx, sub)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := n.B.Node.Auth().Issue(n.ctx, cred.KeyID, cred.Secret)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(n.B.Dir, node.FileAPICert))
	if err != nil {
		b.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(raw)
	bc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true}}
	ac := n.client(b, true)
	ac.Timeout = 0
	return &rig{n: n, a: ac, b: bc, bTok: "Bearer " + tok.AccessToken, bBase: "https://" + n.B.Node.APIAddr(), rcpt: sub}
}

// run sends b.N documents of body from senders goroutines and waits for
// every receipt.
func (r *rig) run(b *testing.B, body []byte, senders int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.mu.Lock()
	r.start, r.notified, r.acking, r.done = map[string]time.Time{}, map[string]time.Duration{}, map[string]bool{}, map[string]bool{}
	r.finished, r.want = make(chan struct{}), b.N
	r.mu.Unlock()
	acks := make(chan string, b.N)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	r.events(b, ctx, &wg, r.b, r.bBase, r.bTok, func(e delivery.Event) {
		if e.Type == "document" {
			r.notify(e.ID, acks)
		}
	})
	r.events(b, ctx, &wg, r.a, "https://"+r.n.A.Node.APIAddr(), "", func(e delivery.Event) {
		if e.Type == "receipt" {
			r.finish(e.ID)
		}
	})
	for range 8 {
		wg.Go(func() { r.acker(b, ctx, acks) })
	}
	wg.Go(func() { r.sweep(b, ctx, acks) })
	b.ResetTimer()
	r.send(b, body, senders)
	select {
	case <-r.finished:
	case <-time.After(10 * time.Minute):
		b.Fatalf("receipts: %d of %d", len(r.done), b.N)
	}
	b.StopTimer()
	r.report(b, len(body))
}

// send submits b.N documents from senders goroutines.
func (r *rig) send(b *testing.B, body []byte, senders int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	q := url.Values{"recipient": {r.rcpt}, "title": {"rate"}, "type": {"bench"}}.Encode()
	u := "https://" + r.n.A.Node.APIAddr() + "/dxl/documents?" + q
	for range senders {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				id := envelope.NewRequestID().String()
				req, _ := http.NewRequest("POST", u, bytes.NewReader(body))
				req.Header.Set(delivery.HeaderDocumentID, id)
				req.Header.Set("Content-Type", "application/octet-stream")
				r.mu.Lock()
				r.start[id] = time.Now()
				r.mu.Unlock()
				resp, err := r.a.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("submit: %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
}

// notify records B's notification of id and queues its acknowledgment.
func (r *rig) notify(id string, acks chan<- string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.start[id]
	if !ok || r.acking[id] {
		return
	}
	r.notified[id] = time.Since(t)
	r.acking[id] = true
	acks <- id
}

func (r *rig) finish(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.start[id]; !ok || r.done[id] {
		return
	}
	r.done[id] = true
	if len(r.done) == r.want {
		close(r.finished)
	}
}

// acker acknowledges at B what it is given.
func (r *rig) acker(b *testing.B, ctx context.Context, acks <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-acks:
			req, _ := http.NewRequestWithContext(ctx, "POST", r.bBase+"/dxl/inbox/"+id+"/ack", nil)
			req.Header.Set("Authorization", r.bTok)
			resp, err := r.b.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					b.Error(err)
				}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("ack %s: %d", id, resp.StatusCode)
			}
		}
	}
}

// sweep catches what the event streams missed (a stream that falls
// behind drops events): B's waiting documents are listed and
// acknowledged, A's outbox is looked at for the receipts.
func (r *rig) sweep(b *testing.B, ctx context.Context, acks chan<- string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", r.bBase+"/dxl/inbox?state=waiting", nil)
		req.Header.Set("Authorization", r.bTok)
		resp, err := r.b.Do(req)
		if err != nil {
			continue
		}
		var items []delivery.Item
		_ = json.NewDecoder(resp.Body).Decode(&items)
		resp.Body.Close()
		for _, it := range items {
			r.notify(it.ID, acks)
		}
		r.mu.Lock()
		var open []string
		for id := range r.acking {
			if !r.done[id] {
				open = append(open, id)
			}
		}
		r.mu.Unlock()
		for _, id := range open {
			if d, err := r.n.A.Node.Delivery().Store().Out(id); err == nil && d.Recipients[0].State == delivery.Acknowledged {
				r.finish(id)
			}
		}
	}
}

// events opens an SSE stream (bearer token tok, or the client's
// certificate) and hands its events to f until ctx ends.
func (r *rig) events(b *testing.B, ctx context.Context, wg *sync.WaitGroup, c *http.Client, base, tok string, f func(delivery.Event)) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/dxl/events", nil)
	if tok != "" {
		req.Header.Set("Authorization", tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("events: %d", resp.StatusCode)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the opening comment: subscribed
		b.Fatal(err)
	}
	wg.Go(func() {
		defer resp.Body.Close()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
				var e delivery.Event
				if json.Unmarshal([]byte(data), &e) == nil {
					f(e)
				}
			}
		}
	})
}

// report gives docs/s, MB/s and the notification percentiles.
func (r *rig) report(b *testing.B, size int) {
	r.mu.Lock()
	lat := make([]time.Duration, 0, len(r.notified))
	for _, d := range r.notified {
		lat = append(lat, d)
	}
	r.mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "docs/s")
	b.ReportMetric(float64(b.N)*float64(size)/sec/1e6, "MB/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}
