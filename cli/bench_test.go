package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/loadgen"
	"github.com/dxl-network/dxl/internal/testutil"
)

// dxlSplit runs the command line in-process with stdout and stderr apart.
func dxlSplit(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	var out, errOut testutil.SyncBuffer
	err = runSplit(ctx, &out, &errOut, args...)
	return out.String(), errOut.String(), err
}

// TestBenchInProcess is `dxl bench` with no target (README, docs/
// performance.md): a fresh demo network, the three paths, each with the
// requested count and no error, and the start-up and memory figures.
func TestBenchInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo network (several seconds)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // three networks under -race beside the parallel tests
	defer cancel()
	prof := t.TempDir()
	stdout, stderr, err := dxlSplit(ctx, "bench", "-n", "50", "-c", "4", "--json",
		"--cpuprofile", filepath.Join(prof, "cpu.out"), "--memprofile", filepath.Join(prof, "mem.out"))
	if err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, stdout, stderr)
	}
	var out benchDemoOutput
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if len(out.Paths) != 3 || out.Paths[0].Name != "direct" || out.Paths[1].Name != "dxl" || out.Paths[2].Name != "dxl-nolog" {
		t.Fatalf("paths %+v", out.Paths)
	}
	for _, p := range out.Paths {
		if r := p.Result; r.Requests != 50 || r.OK != 50 || r.Errors != 0 || r.BytesIn != 50*1024 || r.Latency.P50 <= 0 {
			t.Errorf("%s: %+v", p.Name, r)
		}
		if p.Name != "direct" && (p.VsDirect == nil || p.VsDirect.ReqPerSec <= 0) {
			t.Errorf("%s: no ratio to direct", p.Name)
		}
	}
	if len(out.Startup.Restarts) != 2 || out.Startup.NetworkMS <= 0 || !out.Startup.Restarts[0].Logs || out.Startup.Restarts[1].Logs {
		t.Errorf("start-up %+v", out.Startup)
	}
	for _, r := range out.Startup.Restarts {
		if r.ReadyMSA <= 0 || r.ReadyMSB <= 0 || r.FirstCallMS < r.ReadyMSB {
			t.Errorf("restart %+v", r)
		}
	}
	for _, f := range []string{"cpu.out", "mem.out", "mem.out.base"} {
		if fi, err := os.Stat(filepath.Join(prof, f)); err != nil || fi.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}
	if _, err := os.Stat("/proc/self/status"); err == nil && (out.Memory.PeakRSS < out.Memory.IdleRSS || out.Memory.IdleRSS <= 0) {
		t.Errorf("memory %+v", out.Memory)
	}
}

// TestBenchInProcessPOST is the in-process mode with the other shape of
// load that docs/performance.md shows: POST bodies of --size bytes echoed
// back, at a fixed rate for a duration, with text output.
func TestBenchInProcessPOST(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo network (several seconds)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stdout, stderr, err := dxlSplit(ctx, "bench", "--method", "POST", "--size", "16384", "-c", "2", "--duration", "1s", "--rate", "40",
		"--durability", "process")
	if err != nil {
		t.Fatalf("bench: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, want := range []string{"durability process", "POST /echo with 16384-byte JSON bodies", "at 40 req/s", "direct ", "dxl-nolog ", "× the direct req/s",
		"node B ready in", "first call answered", "VmHWM"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %q in\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "errors direct") || strings.Contains(stdout, "errors dxl") {
		t.Errorf("errors:\n%s", stdout)
	}
	if !strings.Contains(stderr, "Starting a demo network") {
		t.Errorf("stderr: %s", stderr)
	}
}

// TestBenchURLCountsErrorsByCode: a target answering 429 with
// X-DXL-Error: rate_limited is counted by status and code, with a hint;
// when every request fails the command fails.
func TestBenchURLCountsErrorsByCode(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 || r.URL.Path == "/limited" {
			w.Header().Set(loadgen.HeaderError, "rate_limited")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ctx := context.Background()
	stdout, _, err := dxlSplit(ctx, "bench", "--url", srv.URL+"/half", "-n", "20", "-c", "1", "--warmup", "0", "--json")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stdout)
	}
	var out benchURLOutput
	mustJSON(t, stdout, &out)
	if r := out.Result; r.Requests != 20 || r.OK != 10 || r.Errors != 10 || r.ErrorsBy["429 rate_limited"] != 10 || len(r.ErrorsBy) != 1 {
		t.Fatalf("result %+v", r)
	}
	if len(out.Hints) != 1 || !strings.Contains(out.Hints[0], "--rate-limit off") {
		t.Fatalf("hints %q", out.Hints)
	}

	stdout, _, err = dxlSplit(ctx, "bench", "--url", srv.URL+"/limited", "-n", "5")
	if err == nil || !strings.Contains(err.Error(), "no request") || !strings.Contains(stdout, "429 rate_limited") || !strings.Contains(stdout, "hint:") {
		t.Fatalf("all refused: %v\n%s", err, stdout)
	}
}

// TestBenchURLWithCertificateAndToken loads an HTTPS target that requires
// a client certificate, trusting it through --cacert, with a bearer token
// and a POST body of --size bytes.
func TestBenchURLWithCertificateAndToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key, _, err := devnet.ClientCert(dir, "client")
	if err != nil {
		t.Fatal(err)
	}
	var bad atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		if len(r.TLS.PeerCertificates) != 1 || r.Header.Get("Authorization") != "Bearer s3cret" || r.Method != "POST" ||
			r.ContentLength != 300 || n == 0 || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Road-Client") != "A" {
			bad.Add(1)
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(dir, "server.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)

	stdout, stderr, err := dxlSplit(context.Background(), "bench", "--url", srv.URL+"/r1/X", "--cacert", caFile, "--cert", cert, "--key", key,
		"--token", "s3cret", "--method", "post", "--size", "300", "-H", "X-Road-Client: A", "-c", "3", "-n", "30")
	if err != nil || bad.Load() != 0 {
		t.Fatalf("bench: %v (%d refused)\n%s\n%s", err, bad.Load(), stdout, stderr)
	}
	if !strings.Contains(stdout, "POST "+srv.URL) || !strings.Contains(stdout, "target") || strings.Contains(stdout, "errors target") {
		t.Fatalf("output:\n%s", stdout)
	}
	// Without --cacert the server is not trusted: a transport error with a hint.
	stdout, _, err = dxlSplit(context.Background(), "bench", "--url", srv.URL, "-n", "2", "--json")
	if err == nil || !strings.Contains(stdout, `"transport": 2`) || !strings.Contains(stdout, "--cacert") {
		t.Fatalf("untrusted: %v\n%s", err, stdout)
	}
}

func TestBenchFlagErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "0"}, "at least one worker"},
		{[]string{"-n", "5", "--duration", "1s"}, "not both"},
		{[]string{"-n", "0"}, "at least one request"},
		{[]string{"--duration", "-1s"}, "positive duration"},
		{[]string{"--method", "FETCH"}, "give one of GET, POST"},
		{[]string{"--size", "-1"}, "number of bytes"},
		{[]string{"--rate", "-5"}, "cannot be negative"},
		{[]string{"--cacert", "x.pem"}, "applies to --url only"},
		{[]string{"--url", "ftp://host/x"}, "http:// or https://"},
		{[]string{"--url", "http://127.0.0.1:1/", "--cpuprofile", "cpu.out"}, "apply to the in-process network"},
		{[]string{"--url", "http://127.0.0.1:1/", "--durability", "process"}, "set its durability in node.json"},
		{[]string{"--durability", "sometimes"}, "give disk or process"},
		{[]string{"--url", "http://127.0.0.1:1/", "--size", "10"}, "add --method POST"},
		{[]string{"--url", "https://127.0.0.1:1/", "--cert", "c.pem"}, "--cert and --key go together"},
		{[]string{"--url", "https://127.0.0.1:1/", "--cacert", "/nonexistent.pem"}, "--cacert"},
		{[]string{"--url", "http://127.0.0.1:1/", "-H", "no colon"}, "NAME: VALUE"},
	} {
		_, _, err := dxlSplit(context.Background(), append([]string{"bench"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestDemoRateLimitFlag(t *testing.T) {
	t.Parallel()
	if l, err := parseRateLimit("off"); err != nil || *l != devnet.Unlimited {
		t.Fatalf("off: %v %v", l, err)
	}
	if l, err := parseRateLimit("600"); err != nil || l.ReadsPerMin != 600 || l.WritesPerMin != 600 {
		t.Fatalf("600: %v %v", l, err)
	}
	if l, err := parseRateLimit(""); err != nil || l != nil {
		t.Fatalf("default: %v %v", l, err)
	}
	for _, bad := range []string{"0", "-3", "none", "1e3"} {
		if _, err := dxl(context.Background(), "demo", "--rate-limit", bad); err == nil || !strings.Contains(err.Error(), "give off, or a number") {
			t.Errorf("--rate-limit %s: %v", bad, err)
		}
	}
}
