package node_test

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peakRSS is a process's peak resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestStreamingMemoryBounded: a large request and its echo stream through
// two nodes, each a process of its own, byte for byte, and neither node's
// peak memory grows by anything near the body's size (a node that held
// the body whole would grow by all of it). DXL_STREAM_BYTES sets the size
// (default 128 MiB; docs/performance.md measures 1 GiB); the figures and
// a direct call of the backend in the same run are logged.
func TestStreamingMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams hundreds of MiB through two node processes: full suite only")
	}
	size := int64(128 << 20)
	if v := os.Getenv("DXL_STREAM_BYTES"); v != "" {
		var err error
		if size, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("DXL_STREAM_BYTES: %v", err)
		}
	}
	n := startNet(t, nil)
	base := ownAPIPort(t, n.A)
	n.A.Stop()
	n.B.Stop()
	pb := startChild(t, n.B) // the provider first, for A to reach at once
	pa := startChild(t, n.A)
	c := n.client(t, true)
	c.Timeout = 10 * time.Minute
	waitServing(t, c, base+"/r1/"+n.Service+"/citizens/1")
	beforeA, beforeB := peakRSS(t, pa.Process.Pid), peakRSS(t, pb.Process.Pid)

	start := time.Now()
	direct := echoThrough(t, &http.Client{}, n.BackendURL+"/echo", size)
	tDirect := time.Since(start)
	start = time.Now()
	e := echoThrough(t, c, base+"/r1/"+n.Service+"/echo", size)
	tDXL := time.Since(start)
	if direct.got != direct.sent || e.status != 200 || e.gotLen != size || e.got != e.sent {
		t.Fatalf("%d bytes through two nodes: %d %s, %d back, same %v", size, e.status, e.code, e.gotLen, e.got == e.sent)
	}
	afterA, afterB := peakRSS(t, pa.Process.Pid), peakRSS(t, pb.Process.Pid)
	for _, p := range []struct {
		name          string
		before, after int64
	}{{"consumer", beforeA, afterA}, {"provider", beforeB, afterB}} {
		if grew := p.after - p.before; grew > size/2 {
			t.Errorf("%s node's peak RSS grew by %d MiB for a %d MiB body", p.name, grew>>20, size>>20)
		}
	}
	mib := float64(size) / (1 << 20)
	t.Logf("%.0f MiB each way: direct %.2fs (%.0f MiB/s), two nodes %.2fs (%.0f MiB/s, %.2fx); peak RSS consumer %d→%d MiB, provider %d→%d MiB",
		mib, tDirect.Seconds(), mib/tDirect.Seconds(), tDXL.Seconds(), mib/tDXL.Seconds(), tDirect.Seconds()/tDXL.Seconds(),
		beforeA>>20, afterA>>20, beforeB>>20, afterB>>20)
}
