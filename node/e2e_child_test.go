package node_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/delivery"
)

// Environment of a node child process (serveUntilKilled) beside
// crashChildEnv: the delivery crash point (node/delivery/fault.go) at
// which the child kills itself with SIGKILL, and at which hit of it; and
// short delivery backoffs for the fault tests.
const (
	faultPointEnv = "DXL_TEST_FAULT_POINT"
	faultCountEnv = "DXL_TEST_FAULT_COUNT"
	fastRetryEnv  = "DXL_TEST_FAST_RETRY"
)

// childOptions are the node options of a child process, from its
// environment.
func childOptions() []node.Option {
	point := os.Getenv(faultPointEnv)
	count, _ := strconv.Atoi(os.Getenv(faultCountEnv))
	fast := os.Getenv(fastRetryEnv) != ""
	if point == "" && !fast {
		return nil
	}
	var hits atomic.Int64
	return []node.Option{node.WithDelivery(func(c *delivery.Config) {
		if fast {
			c.Policy.MinBackoff, c.Policy.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
		}
		if point == "" {
			return
		}
		c.Fault = func(p string) error {
			if p == point && hits.Add(1) == int64(max(count, 1)) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal ends the process here
			}
			return nil
		}
	})}
}

// child is a node running as a child process of the test binary.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has ended
}

// spawnNode runs the node of h as a child process with the extra
// environment env (faultPointEnv, faultCountEnv, fastRetryEnv); the
// caller kills it.
func spawnNode(h *devnet.NodeHandle, env ...string) (*child, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), crashChildEnv+"="+h.Dir), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return c, nil
}

// kill sends SIGKILL and waits for the process to end.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// alive reports whether the process still runs.
func (c *child) alive() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// faultSeeds are the runs' seeds: DXL_FAULT_SEED alone, or
// DXL_FAULT_RUNS of them from the clock.
func faultSeeds(t *testing.T) []uint64 {
	if s := os.Getenv(faultSeedEnv); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", faultSeedEnv, s, err)
		}
		return []uint64{seed}
	}
	runs := faultRunsCI
	if s := os.Getenv(faultRunsEnv); s != "" {
		var err error
		if runs, err = strconv.Atoi(s); err != nil || runs < 1 {
			t.Fatalf("%s=%q: want a positive number", faultRunsEnv, s)
		}
	}
	base := uint64(time.Now().UnixNano())
	seeds := make([]uint64, runs)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}

// faultSide is one node of a run as a supervised child process: when it
// dies, it is started again on the same directory, with the fault next
// the first time, then without.
type faultSide struct {
	h     *devnet.NodeHandle
	next  faultKill
	mu    sync.Mutex
	c     *child
	kills int
}

// faultEnv is the child environment of a node to be killed at k.
func faultEnv(k faultKill) []string {
	env := []string{fastRetryEnv + "=1"}
	if k.point != "" && k.point != submitHalf {
		env = append(env, faultPointEnv+"="+k.point, faultCountEnv+"="+strconv.Itoa(k.count))
	}
	return env
}

func (s *faultSide) current() *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// supervise restarts the node each time it dies, until ctx ends.
func (s *faultSide) supervise(ctx context.Context, t *testing.T, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.current().exited:
		}
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.kills++
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		c, err := spawnNode(s.h, faultEnv(s.next)...)
		s.next = faultKill{}
		if err != nil {
			t.Errorf("restart %s: %v", s.h.Dir, err)
			return
		}
		s.mu.Lock()
		s.c = c
		s.mu.Unlock()
	}
}

func (s *faultSide) start(t *testing.T, k faultKill) {
	c, err := spawnNode(s.h, faultEnv(k)...)
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
}

// faultIS is B's information system during a run: it lists its inbox,
// fetches each waiting document, checks its hash and acknowledges it,
// retrying through the recipient node's restarts.
type faultIS struct {
	b    *bSide
	docs map[string]*faultDoc

	mu       sync.Mutex
	fetched  map[string]int                   // whole, intact fetches
	receipts map[string]*delivery.ReceiptView // acknowledged: the receipt B's node answered
	ackTried map[string]bool                  // an acknowledgment was sent, no answer yet
	errs     []string
}

func (is *faultIS) fail(format string, a ...any) {
	is.mu.Lock()
	is.errs = append(is.errs, fmt.Sprintf(format, a...))
	is.mu.Unlock()
}

func (is *faultIS) acked(id string) bool { return is.receipt(id) != nil }

func (is *faultIS) receipt(id string) *delivery.ReceiptView {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.receipts[id]
}

func (is *faultIS) seen(id string) bool {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.fetched[id] > 0 || is.ackTried[id]
}

func (is *faultIS) run(ctx context.Context) {
	for ctx.Err() == nil {
		time.Sleep(30 * time.Millisecond)
		var items []delivery.Item
		if a, err := is.b.try("GET", "/dxl/inbox"); err != nil || a.status != 200 || json.Unmarshal(a.body, &items) != nil {
			continue
		}
		for _, it := range items {
			is.take(it.ID)
		}
		is.mu.Lock()
		var retry []string
		for id := range is.ackTried {
			retry = append(retry, id)
		}
		is.mu.Unlock()
		for _, id := range retry {
			is.ack(id)
		}
	}
}

// take fetches and acknowledges one waiting document.
func (is *faultIS) take(id string) {
	d, ok := is.docs[id]
	if !ok {
		is.fail("%s in the inbox is no document of the run", id)
		return
	}
	if is.acked(id) {
		is.fail("%s listed as waiting after its acknowledgment", id)
		return
	}
	a, err := is.b.try("GET", "/dxl/inbox/"+id)
	if err != nil || a.status != 200 {
		return // the node restarts, or the content is not readable (checked by the next round)
	}
	if sum := sha256.Sum256(a.body); hex.EncodeToString(sum[:]) != d.sum {
		is.fail("%s fetched with %d bytes of another content (%d sent)", id, len(a.body), len(d.body))
		return
	}
	is.mu.Lock()
	is.fetched[id]++
	is.ackTried[id] = true
	is.mu.Unlock()
	is.ack(id)
}

func (is *faultIS) ack(id string) {
	a, err := is.b.try("POST", "/dxl/inbox/"+id+"/ack")
	if err != nil || a.status >= 500 {
		return
	}
	var rv delivery.ReceiptView
	if a.status != 200 || json.Unmarshal(a.body, &rv) != nil || rv.Receipt == nil || rv.Receipt.DocumentID != id {
		is.fail("ack %s: %d %s", id, a.status, a.body)
		return
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	delete(is.ackTried, id)
	if old := is.receipts[id]; old != nil && !bytes.Equal(old.Signed.Sig, rv.Signed.Sig) {
		is.errs = append(is.errs, id+": a second, different receipt")
	}
	is.receipts[id] = &rv
}

// check: each accepted document was fetched and acknowledged (a second
// fetch only when the first acknowledgment's answer was lost); a cut one
// absent at A was never in B's inbox.
func (is *faultIS) check(t *testing.T, accepted []string, cut map[string]bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for _, e := range is.errs {
		t.Error(e)
	}
	for _, id := range accepted {
		if is.receipts[id] == nil || is.fetched[id] == 0 {
			t.Errorf("%s accepted: fetched %d×, acknowledged %v", id, is.fetched[id], is.receipts[id] != nil)
		}
	}
	for id := range cut {
		if is.receipts[id] == nil && is.fetched[id] > 0 {
			t.Errorf("%s (submit cut) fetched but never acknowledged", id)
		}
	}
}

// trySubmit submits d from A's information system, its body read from
// body, without failing the test: the node may be down.
func (f *faultNet) trySubmit(d faultDoc, body io.Reader) (int, error) {
	q := url.Values{"recipient": {f.b.sub}, "title": {"hồ sơ " + d.id[:8]}, "type": {"ho-so"},
		"priority": {strconv.Itoa(d.prio)}, "id": {d.id}}
	req, err := http.NewRequest("POST", f.aBase+"/dxl/documents?"+q.Encode(), body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(len(d.body))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := f.a.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// tryStatus is d's status at A, 0 when A does not answer.
func (f *faultNet) tryStatus(id string) (int, delivery.OutDoc) {
	var d delivery.OutDoc
	resp, err := f.a.Get(f.aBase + "/dxl/documents/" + id)
	if err != nil {
		return 0, d
	}
	defer resp.Body.Close()
	if resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(&d) != nil {
		return 0, d
	}
	return resp.StatusCode, d
}

// try is do without failing the test: the node may be down.
func (b *bSide) try(method, path string) (answer, error) {
	req, err := http.NewRequest(method, b.base+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, body}, err
}

// eventLog counts the events both information systems were sent, over
// every restart of their nodes.
type eventLog struct {
	mu sync.Mutex
	n  map[string]int // node/type/document ID → count
}

func newEventLog() *eventLog { return &eventLog{n: map[string]int{}} }

// followEvents reads the event stream at u, connecting again after each
// restart of the node, until ctx ends.
func followEvents(ctx context.Context, c *http.Client, u string, l *eventLog, side string, hdr ...string) {
	sc := &http.Client{Transport: c.Transport} // no timeout: a stream
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if resp, err := sc.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body) // until the node dies or ctx ends
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				var e delivery.Event
				if data, ok := strings.CutPrefix(line, "data: "); ok && json.Unmarshal([]byte(data), &e) == nil {
					l.mu.Lock()
					l.n[side+"/"+e.Type+"/"+e.ID]++
					l.mu.Unlock()
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check: no event twice (a document announced again, a second receipt).
func (l *eventLog) check(t *testing.T, accepted []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, c := range l.n {
		if c > 1 {
			t.Errorf("event %s sent %d times", k, c)
		}
	}
	if len(accepted) > 0 && len(l.n) == 0 {
		t.Errorf("no event seen")
	}
}
