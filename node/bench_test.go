package node_test

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/provider"
	"github.com/dxl-network/dxl/services"
)

// BenchmarkCall compares calling the sample backend directly with calling
// it through the two-node DXL path (A's consumer API, A's node, libp2p,
// B's node, the backend), 1 KiB JSON answers, at concurrency 1 and 64.
// The paths, in the order they run (callPaths):
//
//   - "direct": GET /bench from the backend itself;
//   - "dxl": GET /bench with the message log and operational records on
//     both nodes (as always in production), each call's records synced to
//     disk in the journal before its answer (durability "disk", the
//     default);
//   - "dxl-mask": the same GET of a service whose provider masks three
//     fields of the answer for A's system (masking; the re-encoded answer
//     is no longer 1 KiB), against "dxl";
//   - "dxl-process": "dxl" with durability "process" (written to the
//     journal, not synced);
//   - "dxl-nolog": "dxl" without the two logs, to measure their cost;
//   - "dxl-post": POST /echo of a 1 KiB JSON document, answered with it,
//     logs on;
//   - "dxl-schema": the same POST to a service whose provider checks the
//     request body and the answer against a JSON Schema 2020-12
//     (schemas, validate_responses), against "dxl-post";
//   - "dxl-secret": the same POST to a secret service: both bodies sealed
//     end to end to the members' keys, the answer with the provider's
//     inner signature (exchange.Secret), against "dxl-post".
//
// Every dxl path but "dxl-process" and "dxl-nolog" runs with durability
// "disk"; the governed variants share one network (startNetGov).
// Besides ns/op it reports req/s and p50/p99 latency in µs.
//
//	go test -run '^$' -bench BenchmarkCall -benchtime 3000x ./node/
func BenchmarkCall(b *testing.B) {
	paths := callPaths(b)
	for _, conc := range []int{1, 64} {
		for _, p := range paths {
			b.Run(p.name+"/c="+itoa(conc), func(b *testing.B) { load(b, p, conc) })
		}
	}
}

// benchPath is one path of BenchmarkCall: a client, the call it makes and
// the size of the answer it expects.
type benchPath struct {
	name string
	c    *http.Client
	url  string
	body []byte // POSTed as application/json when set; a GET otherwise
	size int64  // the answer's size; 0: that of the first answer, for every answer
}

// callPaths starts BenchmarkCall's networks and returns its paths, each
// governed variant right after the plain path it is compared with (the
// machine's other work then weighs on both alike); a variant is one more
// entry (and a network, when its configuration differs from all of
// these).
func callPaths(b *testing.B) []benchPath {
	n := startNetB(b, "")
	proc := startNetB(b, "process")
	bare := startNetB(b, "", node.WithoutLogs())
	gov := startNetGov(b)
	doc := devnet.BenchJSON(1024)
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	dxl, dxlProc, dxlBare, dxlGov := n.client(b, true), proc.client(b, true), bare.client(b, true), gov.client(b, true)
	for _, c := range []*http.Client{dxl, dxlProc, dxlBare, dxlGov} {
		c.Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	}
	paths := []benchPath{
		{name: "direct", c: direct, url: n.BackendURL + "/bench", size: 1024},
		{name: "dxl", c: dxl, url: n.url("/bench"), size: 1024},
		{name: "dxl-mask", c: dxlGov, url: gov.codeURL(maskedCode, "/bench")},
		{name: "dxl-process", c: dxlProc, url: proc.url("/bench"), size: 1024},
		{name: "dxl-nolog", c: dxlBare, url: bare.url("/bench"), size: 1024},
		{name: "dxl-post", c: dxl, url: n.url("/echo"), body: doc, size: 1024},
		{name: "dxl-schema", c: dxlGov, url: gov.url("/echo"), body: doc, size: 1024},
		{name: "dxl-secret", c: dxlGov, url: gov.codeURL(secretCode, "/echo"), body: doc, size: 1024},
	}
	// The governed paths do what they are measured for.
	if got := call(b, dxlGov, gov.url("/echo"), []byte(`{"id":"001"}`)); got.status != 400 || got.header.Get(node.HeaderError) != "schema_invalid" {
		b.Fatalf("dxl-schema: a body failing the schema got %d %s", got.status, got.body)
	}
	if got := call(b, dxlGov, gov.codeURL(secretCode, "/echo"), doc); got.status != 200 || !bytes.Equal(got.body, doc) || got.header.Get("X-Signature") == "" {
		b.Fatalf("dxl-secret: %d %s", got.status, got.body)
	}
	if got := call(b, dxlGov, gov.codeURL(maskedCode, "/bench"), nil); got.status != 200 || bytes.Contains(got.body, []byte("Nguyen Van An")) ||
		bytes.Contains(got.body, []byte("1990-01-02")) || !bytes.Contains(got.body, []byte(`"id":"**1"`)) {
		b.Fatalf("dxl-mask: %d %s", got.status, got.body)
	}
	return paths
}

// maskedCode is the service of startNetGov's B masked for A's system,
// secretCode its secret one.
const (
	maskedCode = "population-masked"
	secretCode = "population-secret"
)

// startNetGov is the benchmark network of the governance variants, logs
// on, durability "disk": B checks requests to the sample service and its
// answers against a JSON Schema of the 1 KiB benchmark document, and
// serves the backend a second time as maskedCode, whose answers it masks
// for A's system, and a third time as secretCode, published secret.
func startNetGov(b *testing.B) *testNet {
	dir := b.TempDir()
	schema := filepath.Join(dir, "bench-document.json")
	if err := os.WriteFile(schema, []byte(benchSchema), 0o600); err != nil {
		b.Fatal(err)
	}
	n := startNetTB(b, nil, func(c *node.Config) {
		c.RateLimits.Defaults = devnet.Unlimited
		masked, secret := c.Services[0], c.Services[0]
		masked.Code, secret.Code = maskedCode, secretCode
		c.Services[0].Schemas = map[string]provider.SchemaConfig{"": {Request: schema, Response: schema, ValidateResponses: true}}
		c.Services = append(c.Services, masked, secret)
		service := masked.Subsystem + "/" + maskedCode
		client := c.Access.Rules[0].Subject
		c.Access.Rules = append(c.Access.Rules, devnet.AllowAll(client, service), devnet.AllowAll(client, secret.Subsystem+"/"+secretCode))
		c.Masking = []services.MaskRule{{Service: service, Consumer: client, Fields: []services.MaskField{
			{Path: "/id", Action: services.MaskKeep, Keep: 1}, {Path: "/name", Action: services.MaskHash},
			{Path: "/born", Action: services.MaskDrop}}}}
	})
	if err := n.Publish(n.ctx, n.SubsystemID(devnet.AgencyB), maskedCode, "", []byte(devnet.SampleOpenAPI)); err != nil {
		b.Fatal(err)
	}
	if err := n.PublishClassified(n.ctx, n.SubsystemID(devnet.AgencyB), secretCode, "", state.ClassSecret, []byte(devnet.SampleOpenAPI)); err != nil {
		b.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A, n.B); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchSchema is the JSON Schema 2020-12 of the benchmark document
// (devnet.BenchJSON).
const benchSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "name", "born", "province", "note"],
  "additionalProperties": false,
  "properties": {
    "id": {"type": "string", "pattern": "^[0-9]{3,12}$"},
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "born": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    "province": {"type": "string", "minLength": 1, "maxLength": 100},
    "note": {"type": "string", "maxLength": 4096}
  }
}`

// codeURL is the URL of path of B's service code at A's consumer API.
func (n *testNet) codeURL(code, path string) string {
	return "https://" + n.A.Node.APIAddr() + "/r1/" + n.SubsystemID(devnet.AgencyB) + "/" + code + path
}

// call makes one call of a benchmark path outside the measurement.
func call(b *testing.B, c *http.Client, url string, body []byte) answer {
	b.Helper()
	resp, err := c.Do(benchRequest(url, body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, out}
}

func benchRequest(url string, body []byte) *http.Request {
	if body == nil {
		req, _ := http.NewRequest("GET", url, nil)
		return req
	}
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

func load(b *testing.B, p benchPath, conc int) {
	size := p.size
	get := func() (time.Duration, int64) {
		start := time.Now()
		resp, err := p.c.Do(benchRequest(p.url, p.body))
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != 200 {
			out, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			b.Fatalf("%s: %d %s: %s", p.url, resp.StatusCode, resp.Header.Get(node.HeaderError), out)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n == 0 || size != 0 && n != size {
			b.Fatalf("%s: %d bytes (want %d)", p.url, n, size)
		}
		return time.Since(start), n
	}
	if size == 0 { // before the workers start: they read it
		_, size = get()
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
				lat[k], _ = get()
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
