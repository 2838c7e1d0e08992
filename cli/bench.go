package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/loadgen"
	"github.com/dxl-network/dxl/internal/wal"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "load a node's information-system API (or an in-process demo network) and print req/s, latency percentiles and errors",
		UsageText: `dxl bench [-c N] [-n N | --duration D] [--rate R] [--method GET|POST] [--size BYTES] [--json]
   dxl bench --url URL [--cacert FILE] [--cert FILE --key FILE | --token TOKEN] [options]`,
		Description: `Without --url, starts a fresh demo network in this process (registry, CA,
TSA, agency A's and B's nodes, B's sample backend; rate limits off) and
sends the same load three times: to the sample backend directly, through
both nodes with their logs on (as in production), and through both nodes
restarted without the message log and operational records. It prints each
path's figures, their ratio to the direct path, each node's start-to-ready
time and the peak memory of the process (which holds the whole network and
the load generator, so it is an upper bound for one node).

With --url, loads that URL: a node's consumer API (https://NODE:8443/r1/
SERVICE/PATH) with the information system's client certificate or a bearer
token, or any HTTP endpoint. A GET sends no body; a POST sends --size bytes
of JSON.

Latencies are of the answered requests (2xx, 3xx); errors are counted by
HTTP status and the node's error code (X-DXL-Error), e.g. "429
rate_limited". A progress line goes to stderr once a second; stdout holds
only the result (one JSON object with --json). The exit status is non-zero
when no request succeeded.

--cpuprofile and --memprofile (in-process only) profile the logged path
alone, without the network's start-up: go tool pprof -top FILE, and for
allocations go tool pprof -sample_index=alloc_space -diff_base FILE.base
-top FILE.

Examples:
   dxl bench -c 64 -n 5000
   dxl bench -c 1 -n 2000 --json
   dxl bench -c 64 -n 5000 --durability process
   dxl bench --method POST --size 16384 --duration 30s --rate 500
   dxl bench --url https://127.0.0.1:8443/r1/VN-DEMO/GOV/000.00.00.B01/DANCU/population/bench \
       --cacert DIR/000.00.00.a01/api.pem --cert DIR/information-system-a/client.pem \
       --key DIR/information-system-a/client.key -c 16 -n 2000
   # DIR and the ready command: "dxl demo --rate-limit off" prints them`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "url", Usage: "load this `URL` instead of an in-process demo network"},
			&cli.StringFlag{Name: "cacert", Usage: "trust the server certificate(s) in this PEM `FILE` (a node's api.pem)", TakesFile: true},
			&cli.StringFlag{Name: "cert", Usage: "the information system's TLS client certificate (PEM `FILE`)", TakesFile: true},
			&cli.StringFlag{Name: "key", Usage: "the key of --cert (PEM `FILE`)", TakesFile: true},
			&cli.StringFlag{Name: "token", Usage: "send Authorization: Bearer `TOKEN` (from the node's /token)", EnvVars: []string{"DXL_BENCH_TOKEN"}},
			&cli.StringSliceFlag{Name: "header", Aliases: []string{"H"}, Usage: "add a request `HEADER` written NAME: VALUE (repeatable)"},
			&cli.IntFlag{Name: "concurrency", Aliases: []string{"c"}, Value: 16, Usage: "workers, each with one request in flight"},
			&cli.IntFlag{Name: "requests", Aliases: []string{"n"}, Usage: "measured requests per path", DefaultText: "2000, unless --duration"},
			&cli.DurationFlag{Name: "duration", Usage: "send for this long per path instead of a request count (e.g. 30s)", DefaultText: "none"},
			&cli.Float64Flag{Name: "rate", Usage: "total requests a second per path", DefaultText: "as fast as answered"},
			&cli.StringFlag{Name: "method", Value: "GET", Usage: "GET, or POST with a --size body"},
			&cli.IntFlag{Name: "size", Value: 1024, Usage: "bytes of a POST body; in-process also of the sample backend's answer"},
			&cli.IntFlag{Name: "warmup", Usage: "requests sent first and not measured, per path", DefaultText: "twice the concurrency"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up on one request after this long"},
			&cli.StringFlag{Name: "durability", Value: wal.ModeDisk, Usage: "in-process: the nodes' durability, disk or process (docs/architecture.md, \"The journal\")"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "in-process: write a CPU profile of the dxl path (logs on) to `FILE`", TakesFile: true},
			&cli.StringFlag{Name: "memprofile", Usage: "in-process: write the allocations of the dxl path to `FILE` (and those before it to FILE.base)", TakesFile: true},
			&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
		},
		Action: benchAction,
	}
}

// benchSpec is the load that the flags ask for.
type benchSpec struct {
	method  string
	size    int
	header  http.Header
	load    loadgen.Config // without Request and Client
	timeout time.Duration
	// cpuProfile and memProfile are the files of --cpuprofile and
	// --memprofile, durability the nodes' (in-process mode).
	cpuProfile, memProfile, durability string
}

func benchAction(c *cli.Context) error {
	spec, err := parseBench(c)
	if err != nil {
		return err
	}
	if c.String("url") == "" {
		spec.cpuProfile, spec.memProfile, spec.durability = c.String("cpuprofile"), c.String("memprofile"), c.String("durability")
		if _, err := wal.ParseMode(spec.durability); err != nil {
			return fmt.Errorf("--durability %q: give disk or process", spec.durability)
		}
		for _, f := range []string{"cacert", "cert", "key", "token", "header"} {
			if c.IsSet(f) {
				return fmt.Errorf("--%s applies to --url only: without --url, dxl bench loads its own demo network", f)
			}
		}
		return benchDemo(c, spec)
	}
	if c.IsSet("cpuprofile") || c.IsSet("memprofile") || c.IsSet("durability") {
		return errors.New("--cpuprofile, --memprofile and --durability apply to the in-process network; profile a node of your own with go tool pprof on its process, and set its durability in node.json")
	}
	return benchURL(c, spec)
}

var benchMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func parseBench(c *cli.Context) (*benchSpec, error) {
	s := &benchSpec{method: strings.ToUpper(c.String("method")), size: c.Int("size"), header: http.Header{}, timeout: c.Duration("timeout")}
	s.load = loadgen.Config{Concurrency: c.Int("concurrency"), Requests: c.Int("requests"), Duration: c.Duration("duration"),
		Rate: c.Float64("rate"), Warmup: 2 * c.Int("concurrency")}
	if c.IsSet("warmup") {
		s.load.Warmup = c.Int("warmup")
	}
	switch {
	case s.load.Concurrency < 1:
		return nil, fmt.Errorf("-c %d: give at least one worker (e.g. -c 16)", s.load.Concurrency)
	case c.IsSet("requests") && c.IsSet("duration"):
		return nil, errors.New("give either -n (a request count) or --duration, not both")
	case c.IsSet("requests") && s.load.Requests < 1:
		return nil, fmt.Errorf("-n %d: give at least one request", s.load.Requests)
	case c.IsSet("duration") && s.load.Duration <= 0:
		return nil, fmt.Errorf("--duration %s: give a positive duration (e.g. 30s)", s.load.Duration)
	case s.load.Rate < 0 || s.load.Warmup < 0:
		return nil, errors.New("--rate and --warmup cannot be negative")
	case !slices.Contains(benchMethods, s.method):
		return nil, fmt.Errorf("--method %q: give one of %s", c.String("method"), strings.Join(benchMethods, ", "))
	case s.size < 0 || s.size > devnet.MaxBenchSize:
		return nil, fmt.Errorf("--size %d: give a number of bytes from 0 to %d", s.size, devnet.MaxBenchSize)
	case s.timeout <= 0:
		return nil, errors.New("--timeout must be positive")
	}
	if s.load.Requests == 0 && s.load.Duration == 0 {
		s.load.Requests = 2000
	}
	for _, h := range c.StringSlice("header") {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--header %q: write it as NAME: VALUE", h)
		}
		s.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return s, nil
}

// body is the request body of the spec's method: none for GET, else a
// JSON document of size bytes.
func (s *benchSpec) body() []byte {
	if s.method == http.MethodGet {
		return nil
	}
	return devnet.BenchJSON(s.size)
}

func (s *benchSpec) request(url string) loadgen.Request {
	r := loadgen.Request{Method: s.method, URL: url, Header: s.header.Clone(), Body: s.body()}
	if r.Body != nil && r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

// benchURL loads one URL given on the command line.
func benchURL(c *cli.Context, spec *benchSpec) error {
	u, err := url.Parse(c.String("url"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: give an http:// or https:// URL, e.g. https://127.0.0.1:8443/r1/SERVICE/PATH", c.String("url"))
	}
	if spec.method == http.MethodGet && c.IsSet("size") {
		return errors.New("--size sets the body of a POST; a GET to --url sends none (add --method POST)")
	}
	tr, err := systemTLS(c)
	if err != nil {
		return err
	}
	if t := c.String("token"); t != "" {
		spec.header.Set("Authorization", "Bearer "+t)
	}
	client := loadgen.NewClient(spec.load.Concurrency, tr)
	client.Timeout = spec.timeout
	cfg := spec.load
	cfg.Request, cfg.Client = spec.request(u.String()), client
	cfg.Progress = progressLine(c.App.ErrWriter, "target")
	res, runErr := loadgen.Run(c.Context, cfg)
	if res == nil {
		return runErr
	}
	out := benchURLOutput{Mode: "url", URL: u.String(), Method: spec.method, Concurrency: cfg.Concurrency, Rate: cfg.Rate, Result: res,
		Hints: benchHints(res, cfg.Concurrency, true)}
	if c.Bool("json") {
		if err := printJSON(c, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.App.Writer, "%s %s, concurrency %d%s\n\n", spec.method, u.String(), cfg.Concurrency, rateText(cfg.Rate))
		printTable(c.App.Writer, []benchPath{{Name: "target", Result: res}})
		printErrors(c.App.Writer, []benchPath{{Name: "target", Result: res}}, out.Hints)
	}
	return benchOutcome(runErr, []benchPath{{Name: "target", Result: res}})
}

type benchURLOutput struct {
	Mode        string          `json:"mode"`
	URL         string          `json:"url"`
	Method      string          `json:"method"`
	Concurrency int             `json:"concurrency"`
	Rate        float64         `json:"rate,omitempty"`
	Result      *loadgen.Result `json:"result"`
	Hints       []string        `json:"hints,omitempty"`
}

// benchOutcome is the command's error: ctx's (interrupted), or one when no
// request of a path succeeded.
func benchOutcome(runErr error, paths []benchPath) error {
	if runErr != nil {
		return runErr
	}
	for _, p := range paths {
		if p.Result.OK == 0 {
			return fmt.Errorf("no request to %s succeeded (%d errors; see above)", p.Name, p.Result.Errors)
		}
	}
	return nil
}

// benchHints say what to do about the errors of res.
func benchHints(res *loadgen.Result, concurrency int, remote bool) []string {
	var hints []string
	for kind := range res.ErrorsBy {
		switch {
		case kind == "429 rate_limited" && remote:
			hints = append(hints, "429 rate_limited: the provider's rate limit refused calls; for the demo start it with --rate-limit off, for a node raise rate_limits in the provider's node.json")
		case kind == "401" || strings.HasPrefix(kind, "401 ") || strings.HasPrefix(kind, "403 "):
			hints = append(hints, kind+": the node did not accept the caller; give --cert/--key of a pinned information system, or --token")
		case kind == loadgen.KindTransport && concurrency > 64:
			hints = append(hints, "transport: a node accepts 64 connections per client IP (api_limits.max_conns_per_ip); lower -c or raise it")
		case kind == loadgen.KindTransport && strings.Contains(res.ErrorSamples[kind], "certificate"):
			hints = append(hints, "transport: TLS failed; give --cacert with the node's api.pem, and --cert/--key")
		}
	}
	slices.Sort(hints)
	return hints
}

// progressLine prints a run's progress to w (stderr) once a second.
func progressLine(w io.Writer, path string) func(loadgen.Progress) {
	return func(p loadgen.Progress) {
		fmt.Fprintf(w, "%-10s %5.0fs %9d done %9.0f req/s %6d errors\n", path, p.Elapsed.Seconds(), p.Done, p.Rate, p.Errors)
	}
}

func rateText(rate float64) string {
	if rate > 0 {
		return fmt.Sprintf(", at %.0f req/s", rate)
	}
	return ", as fast as answered"
}

// benchPath is the result of one path of a run.
type benchPath struct {
	Name   string          `json:"path"`
	URL    string          `json:"url"`
	Result *loadgen.Result `json:"result"`
	// VsDirect compares the path with the direct one (in-process only).
	VsDirect *benchRatio `json:"vs_direct,omitempty"`
	// PeakRSS is the process's largest resident set sampled during the
	// path (in-process only).
	PeakRSS int64 `json:"peak_rss_bytes,omitempty"`
}

type benchRatio struct {
	ReqPerSec  float64 `json:"req_per_sec_ratio"` // path req/s ÷ direct req/s
	AddedP50US float64 `json:"added_p50_us"`
	AddedP99US float64 `json:"added_p99_us"`
}

func printTable(w io.Writer, paths []benchPath) {
	fmt.Fprintf(w, "%-10s %9s %9s %9s %9s %9s %8s %s\n", "path", "requests", "req/s", "p50", "p90", "p99", "max", "errors")
	for _, p := range paths {
		r := p.Result
		fmt.Fprintf(w, "%-10s %9d %9.0f %9s %9s %9s %8s %d\n", p.Name, r.Requests, r.ReqPerSec,
			dur(r.Latency.P50), dur(r.Latency.P90), dur(r.Latency.P99), dur(r.Latency.Max), r.Errors)
	}
}

func printErrors(w io.Writer, paths []benchPath, hints []string) {
	for _, p := range paths {
		kinds := make([]string, 0, len(p.Result.ErrorsBy))
		for k := range p.Result.ErrorsBy {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			fmt.Fprintf(w, "errors %-8s %-22s %7d   e.g. %s\n", p.Name, k, p.Result.ErrorsBy[k], p.Result.ErrorSamples[k])
		}
	}
	for _, h := range hints {
		fmt.Fprintln(w, "hint:", h)
	}
}

// dur prints a latency with three significant digits.
func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.3gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.3gms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.3gµs", float64(d)/float64(time.Microsecond))
	}
}
