package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/loadgen"
	"github.com/dxl-network/dxl/node"
)

// memoryScope says what the in-process figures of memory cover.
const memoryScope = "the whole dxl bench process: registry, CA, TSA, both nodes, the sample backend and the load generator; an upper bound for one node"

type benchDemoOutput struct {
	Mode        string       `json:"mode"` // in-process
	Method      string       `json:"method"`
	Size        int          `json:"size"`
	Durability  string       `json:"durability"`
	Concurrency int          `json:"concurrency"`
	Requests    int          `json:"requests_per_path,omitempty"`
	DurationS   float64      `json:"duration_per_path_s,omitempty"`
	Rate        float64      `json:"rate,omitempty"`
	Paths       []benchPath  `json:"paths"`
	Startup     benchStartup `json:"startup"`
	Memory      benchMemory  `json:"memory"`
	Hints       []string     `json:"hints,omitempty"`
}

type benchStartup struct {
	// NetworkMS is the start of the whole demo network: registry (Raft,
	// CA, TSA), then both agencies admitted through registration,
	// approval and enrolment.
	NetworkMS float64 `json:"network_ms"`
	// Restarts are the nodes' restarts from their directories before the
	// logged and unlogged paths.
	Restarts []nodeRestart `json:"node_restarts"`
}

// nodeRestart is one restart of both nodes: each node's start to ready
// (node.Open from its directory until its health is ok), and from the
// first start until a call through both nodes was answered.
type nodeRestart struct {
	Logs        bool    `json:"logs"`
	ReadyMSB    float64 `json:"node_b_ready_ms"`
	ReadyMSA    float64 `json:"node_a_ready_ms"`
	FirstCallMS float64 `json:"first_call_ms"`
}

type benchMemory struct {
	Scope   string `json:"scope"`
	IdleRSS int64  `json:"idle_rss_bytes"` // once the network is up, before any load
	PeakRSS int64  `json:"peak_rss_bytes"` // VmHWM at the end
}

// benchDemo starts a demo network in this process and loads its three
// paths: the backend directly, through both nodes with logs, without.
func benchDemo(c *cli.Context, spec *benchSpec) error {
	ctx, errw := c.Context, c.App.ErrWriter
	dir, err := os.MkdirTemp("", "dxl-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(errw, "Starting a demo network in this process (%s, rate limits off) …\n", dir)
	start := time.Now()
	unlimited := devnet.Unlimited
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: dir, Logger: benchLogger(c)}, RateLimits: &unlimited,
		ConfigureA: func(cfg *node.Config) {
			cfg.APILimits.MaxConnsPerIP = max(64, 2*spec.load.Concurrency)
			cfg.Durability = spec.durability
		},
		ConfigureB: func(cfg *node.Config) { cfg.Durability = spec.durability }})
	if err != nil {
		return fmt.Errorf("bench: starting the demo network: %w", err)
	}
	defer d.Close()
	out := &benchDemoOutput{Mode: "in-process", Method: spec.method, Size: spec.size, Durability: spec.durability, Concurrency: spec.load.Concurrency,
		Requests: spec.load.Requests, DurationS: spec.load.Duration.Seconds(), Rate: spec.load.Rate}
	out.Startup.NetworkMS = ms(time.Since(start))
	out.Memory = benchMemory{Scope: memoryScope, IdleRSS: procStatus("VmRSS")}
	runErr := benchDemoPaths(c, spec, d, out)
	out.Memory.PeakRSS = procStatus("VmHWM")
	if len(out.Paths) == 0 {
		return runErr
	}
	for _, p := range out.Paths {
		out.Hints = append(out.Hints, benchHints(p.Result, spec.load.Concurrency, false)...)
	}
	if c.Bool("json") {
		if err := printJSON(c, out); err != nil {
			return err
		}
	} else {
		printDemo(c.App.Writer, out)
	}
	return benchOutcome(runErr, out.Paths)
}

// benchLogger keeps the figures readable: only errors from the network's
// components, unless --log-level is debug.
func benchLogger(c *cli.Context) *slog.Logger {
	l := logger(c)
	if !l.Enabled(context.Background(), slog.LevelDebug) {
		return slog.New(levelFilter{l.Handler(), slog.LevelError})
	}
	return l
}

// benchDemoPaths runs the three paths in turn, restarting both nodes
// (timed) before each path through them.
func benchDemoPaths(c *cli.Context, spec *benchSpec, d *devnet.Demo, out *benchDemoOutput) error {
	path := "/bench?size=" + strconv.Itoa(spec.size)
	if spec.method != http.MethodGet {
		path = "/echo"
	}
	direct := loadgen.NewClient(spec.load.Concurrency, nil)
	direct.Timeout = spec.timeout
	p, err := runPath(c, spec, "direct", d.BackendURL+path, direct)
	if p != nil {
		out.Paths = append(out.Paths, *p)
	}
	if err != nil {
		return err
	}
	for _, logs := range []bool{true, false} {
		var opts []node.Option
		name := "dxl"
		if !logs {
			opts, name = []node.Option{node.WithoutLogs()}, "dxl-nolog"
		}
		client, err := demoClient(d, spec)
		if err != nil {
			return err
		}
		r, err := restartNodes(c.Context, d, client, path, opts...)
		if err != nil {
			return err
		}
		r.Logs = logs
		out.Startup.Restarts = append(out.Startup.Restarts, r)
		p, err := runPath(c, spec, name, "https://"+d.A.Node.APIAddr()+"/r1/"+d.Service+path, client)
		if p != nil {
			p.VsDirect = ratio(out.Paths[0].Result, p.Result)
			out.Paths = append(out.Paths, *p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runPath loads one path, sampling the process's memory once a second.
func runPath(c *cli.Context, spec *benchSpec, name, url string, client *http.Client) (p *benchPath, err error) {
	cfg := spec.load
	cfg.Request, cfg.Client = spec.request(url), client
	var mu sync.Mutex
	peak := procStatus("VmRSS")
	line := progressLine(c.App.ErrWriter, name)
	cfg.Progress = func(pr loadgen.Progress) {
		line(pr)
		rss := procStatus("VmRSS")
		mu.Lock()
		peak = max(peak, rss)
		mu.Unlock()
	}
	if name == "dxl" {
		stop, perr := startProfiles(spec)
		if perr != nil {
			return nil, perr
		}
		defer func() { // err is the named result here
			if perr := stop(); perr != nil && err == nil {
				p, err = nil, perr
			}
		}()
	}
	res, err := loadgen.Run(c.Context, cfg)
	if res == nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	return &benchPath{Name: name, URL: url, Result: res, PeakRSS: max(peak, procStatus("VmRSS"))}, err
}

// startProfiles starts the CPU profile and writes the allocations so far
// (FILE.base) as the spec asks; stop ends the CPU profile and writes the
// allocations (FILE).
func startProfiles(spec *benchSpec) (stop func() error, err error) {
	var cpu *os.File
	if spec.cpuProfile != "" {
		if cpu, err = os.Create(spec.cpuProfile); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	writeAllocs := func(path string) error {
		if spec.memProfile == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		runtime.GC() // the profile's figures are as of the last GC
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return fmt.Errorf("--memprofile: %w", err)
		}
		return f.Close()
	}
	if err := writeAllocs(spec.memProfile + ".base"); err != nil {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		return nil, err
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
		}
		return writeAllocs(spec.memProfile)
	}, nil
}

// restartNodes restarts B, then A, from their directories with opts, and
// times each until its health is ok, then both until a call through them
// is answered.
func restartNodes(ctx context.Context, d *devnet.Demo, client *http.Client, path string, opts ...node.Option) (nodeRestart, error) {
	var r nodeRestart
	start := time.Now()
	for _, n := range []struct {
		h  *devnet.NodeHandle
		ms *float64
	}{{d.B, &r.ReadyMSB}, {d.A, &r.ReadyMSA}} {
		t := time.Now()
		if err := n.h.Restart(ctx, opts...); err != nil {
			return r, fmt.Errorf("bench: restarting the node in %s: %w", n.h.Dir, err)
		}
		if err := poll(ctx, func() bool { return n.h.Node.Health().Status == "ok" }); err != nil {
			return r, fmt.Errorf("bench: the node in %s did not become healthy: %w", n.h.Dir, err)
		}
		*n.ms = ms(time.Since(t))
	}
	url := "https://" + d.A.Node.APIAddr() + "/r1/" + d.Service + path
	var last string
	err := poll(ctx, func() bool {
		ok, msg := callOnce(ctx, client, url, path)
		last = msg
		return ok
	})
	if err != nil {
		return r, fmt.Errorf("bench: no call through the restarted nodes was answered (last: %s): %w", last, err)
	}
	r.FirstCallMS = ms(time.Since(start))
	return r, nil
}

// callOnce sends one request of the path and reports whether it was
// answered with 200.
func callOnce(ctx context.Context, client *http.Client, url, path string) (bool, string) {
	method, body := http.MethodGet, io.Reader(http.NoBody)
	if path == "/echo" {
		method, body = http.MethodPost, strings.NewReader(`{}`)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return false, err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK, resp.Status + " " + resp.Header.Get(loadgen.HeaderError)
}

// poll calls cond every few milliseconds until it holds, for at most 30 s.
func poll(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// demoClient is agency A's information system: it trusts A's API
// certificate and presents its pinned client certificate.
func demoClient(d *devnet.Demo, spec *benchSpec) (*http.Client, error) {
	raw, err := os.ReadFile(d.APICert)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(raw) {
		return nil, errors.New("bench: the demo's API certificate holds no PEM certificate")
	}
	cert, err := tls.LoadX509KeyPair(d.ISCert, d.ISKey)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	client := loadgen.NewClient(spec.load.Concurrency, tr)
	client.Timeout = spec.timeout
	return client, nil
}

func ratio(direct, path *loadgen.Result) *benchRatio {
	r := &benchRatio{AddedP50US: us(path.Latency.P50 - direct.Latency.P50), AddedP99US: us(path.Latency.P99 - direct.Latency.P99)}
	if direct.ReqPerSec > 0 {
		r.ReqPerSec = float64(int(path.ReqPerSec/direct.ReqPerSec*1000+0.5)) / 1000
	}
	return r
}

func printDemo(w io.Writer, out *benchDemoOutput) {
	what := fmt.Sprintf("%d requests", out.Requests)
	if out.DurationS > 0 {
		what = fmt.Sprintf("%gs", out.DurationS)
	}
	req := fmt.Sprintf("GET /bench?size=%d (%d-byte answers)", out.Size, out.Size)
	if out.Method != http.MethodGet {
		req = fmt.Sprintf("%s /echo with %d-byte JSON bodies", out.Method, out.Size)
	}
	fmt.Fprintf(w, "In-process demo network, rate limits off, durability %s. %s, concurrency %d, %s per path%s.\n\n",
		out.Durability, req, out.Concurrency, what, rateText(out.Rate))
	printTable(w, out.Paths)
	fmt.Fprintln(w)
	for _, p := range out.Paths[1:] {
		fmt.Fprintf(w, "%-10s %.3f× the direct req/s, p50 +%s, p99 +%s\n", p.Name, p.VsDirect.ReqPerSec,
			dur(time.Duration(p.VsDirect.AddedP50US*1000)), dur(time.Duration(p.VsDirect.AddedP99US*1000)))
	}
	fmt.Fprintf(w, "\nstart-up   demo network %s (registry, CA, TSA, two agencies admitted)\n", dur(time.Duration(out.Startup.NetworkMS*1e6)))
	for _, r := range out.Startup.Restarts {
		logs := "logs on "
		if !r.Logs {
			logs = "logs off"
		}
		fmt.Fprintf(w, "restart    %s: node B ready in %s, node A in %s, first call answered %s after the restart began\n", logs,
			dur(time.Duration(r.ReadyMSB*1e6)), dur(time.Duration(r.ReadyMSA*1e6)), dur(time.Duration(r.FirstCallMS*1e6)))
	}
	if out.Memory.PeakRSS > 0 {
		fmt.Fprintf(w, "memory     %s resident when idle, %s at peak (VmHWM); under load:", mib(out.Memory.IdleRSS), mib(out.Memory.PeakRSS))
		for _, p := range out.Paths {
			fmt.Fprintf(w, " %s %s", p.Name, mib(p.PeakRSS))
		}
		fmt.Fprintf(w, "\n           (%s)\n", memoryScope)
	}
	printErrors(w, out.Paths, out.Hints)
}

// procStatus reads a size field of /proc/self/status (VmRSS, VmHWM) in
// bytes; 0 where there is none (not Linux).
func procStatus(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func us(d time.Duration) float64 { return float64(d.Nanoseconds()/100) / 10 }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
