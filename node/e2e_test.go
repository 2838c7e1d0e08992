package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/services"
)

// testNet is a demo network plus a third agency C, whose information
// system has only limited rights at B and a small rate limit.
type testNet struct {
	*devnet.Demo
	C       *devnet.NodeHandle
	ClientC string
	isC     [2]string
	ctx     context.Context
}

func startNet(t *testing.T, configureB func(*node.Config)) *testNet {
	t.Helper()
	return startNetTB(t, nil, configureB)
}

// startNetB is the benchmark network: B's budgets do not limit A. Both
// nodes answer with durability (node.Config.Durability; "" is the default).
func startNetB(b *testing.B, durability string, opts ...node.Option) *testNet {
	return startNetTB(b, func(c *node.Config) { c.Durability = durability }, func(c *node.Config) {
		c.Durability = durability
		c.RateLimits.Defaults = services.Limits{ReadsPerMin: 100_000_000, WritesPerMin: 100_000_000}
	}, opts...)
}

// shared is one demo network for the tests that leave its state alone
// (sharedNet); TestMain closes it.
var shared struct {
	once sync.Once
	net  *testNet
	err  error
	stop func()
}

func TestMain(m *testing.M) {
	wal.ReserveSyncProcs() // as the dxl binary does: BenchmarkCall measures what it runs
	if dir := os.Getenv(crashChildEnv); dir != "" {
		serveUntilKilled(dir) // a node process of the kill -9 harness
		return
	}
	code := m.Run()
	if shared.stop != nil {
		shared.stop()
	}
	os.Exit(code)
}

// sharedNet is the package's shared demo network, started on first use.
// Tests using it must not change its state (configuration, nodes, TSA).
func sharedNet(t *testing.T) *testNet {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		dir, err := os.MkdirTemp("", "dxl-node-e2e-")
		if err != nil {
			shared.err = err
			cancel()
			return
		}
		d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: dir, Logger: testLogger(), FastRaft: true,
			ConfigInterval: 300 * time.Millisecond}})
		if err != nil {
			shared.err = err
			cancel()
			os.RemoveAll(dir)
			return
		}
		shared.net = &testNet{Demo: d, ctx: ctx}
		shared.stop = func() { d.Close(); cancel(); os.RemoveAll(dir) }
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.net
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

func startNetTB(t testing.TB, configureA, configureB func(*node.Config), opts ...node.Option) *testNet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: dir, Logger: testLogger(), FastRaft: true,
		ConfigInterval: 300 * time.Millisecond, NodeOptions: opts}, ConfigureA: configureA, ConfigureB: configureB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return &testNet{Demo: d, ctx: ctx}
}

// client returns an HTTP client of A's consumer API authenticated with A's
// information-system certificate.
func (n *testNet) client(t testing.TB, withCert bool) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	raw, err := os.ReadFile(n.APICert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(raw)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cert, err := tls.LoadX509KeyPair(n.ISCert, n.ISKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
}

func (n *testNet) url(path string) string {
	return "https://" + n.A.Node.APIAddr() + "/r1/" + n.Service + path
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, c *http.Client, method, u, ctype string, body []byte, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, u, err)
	}
	return answer{resp.StatusCode, resp.Header, out}
}

// exchangeError checks an exchange-layer error answer.
func exchangeError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.header.Get(node.HeaderError) != code {
		t.Fatalf("want %d %s, got %d %q: %s", status, code, a.status, a.header.Get(node.HeaderError), a.body)
	}
	var e node.ErrorBody
	if err := json.Unmarshal(a.body, &e); err != nil || e.Code != code || e.Message == "" {
		t.Fatalf("error body %s: %v", a.body, err)
	}
}

func TestEndToEndCalls(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)

	t.Run("GetJSON", func(t *testing.T) {
		a := do(t, c, "GET", n.url("/citizens/001?fields=all"), "", nil)
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
		var got map[string]string
		if err := json.Unmarshal(a.body, &got); err != nil {
			t.Fatal(err)
		}
		// The backend saw the authenticated client and the request ID.
		if got["id"] != "001" || got["requested_by"] != n.ClientA || got["request_id"] != a.header.Get("X-Request-ID") {
			t.Fatalf("backend answer %v, headers %v", got, a.header)
		}
		if a.header.Get(node.HeaderProvider) != n.B.Node.PeerID().String() {
			t.Fatalf("provider node %q", a.header.Get(node.HeaderProvider))
		}
	})
	t.Run("PostJSON", func(t *testing.T) {
		id := "8f1d3c0e-3b7a-4c6e-9d2f-0a1b2c3d4e5f"
		a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Tran Thi B"}`), "X-Request-ID", id, "X-Road-Client", n.ClientA)
		if a.status != 201 || a.header.Get("X-Request-ID") != id || !bytes.Contains(a.body, []byte(`"Tran Thi B"`)) {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
	})
	t.Run("ProviderErrorPassesThrough", func(t *testing.T) {
		a := do(t, c, "GET", n.url("/status/503"), "", nil)
		if a.status != 503 || a.header.Get(node.HeaderError) != "" || string(a.body) != `{"backend_status":503}` {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
	})
	t.Run("XML", func(t *testing.T) {
		a := do(t, c, "GET", n.url("/xml"), "", nil)
		if a.status != 200 || a.header.Get("Content-Type") != "application/xml" || !bytes.Contains(a.body, []byte("<citizen>")) {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
	})
	t.Run("TenMegabyteBody", func(t *testing.T) {
		body := make([]byte, 10<<20)
		rand.Read(body)
		a := do(t, c, "POST", n.url("/echo"), "application/octet-stream", body)
		if a.status != 200 || !bytes.Equal(a.body, body) {
			t.Fatalf("%d, %d bytes back, equal %v", a.status, len(a.body), bytes.Equal(a.body, body))
		}
	})
	t.Run("SOAP", func(t *testing.T) {
		for _, v := range []struct{ ctype, ns string }{
			{"text/xml; charset=utf-8", "http://schemas.xmlsoap.org/soap/envelope/"},
			{"application/soap+xml; charset=utf-8", "http://www.w3.org/2003/05/soap-envelope"},
		} {
			env := soapEnvelope(v.ns, n.ClientA, n.soapService())
			req, _ := http.NewRequest("POST", "https://"+n.A.Node.APIAddr()+"/", strings.NewReader(env))
			req.Header.Set("Content-Type", v.ctype)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := fmt.Sprintf("<requestBytes>%d</requestBytes>", len(env))
			if resp.StatusCode != 200 || !bytes.Contains(out, []byte(want)) || !bytes.Contains(out, []byte(n.ClientA)) {
				t.Fatalf("%s: %d %s", v.ctype, resp.StatusCode, out)
			}
		}
		// A SOAP header naming another client is a fault, not a call.
		env := soapEnvelope("http://schemas.xmlsoap.org/soap/envelope/", "VN-DEMO/GOV/000.00.00.B01/DANCU", n.soapService())
		a := do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/", "text/xml", []byte(env))
		if a.status != 403 || a.header.Get(node.HeaderError) != "client_mismatch" || !bytes.Contains(a.body, []byte("<faultcode>SOAP-ENV:Client.client_mismatch</faultcode>")) {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
	})
	t.Run("BearerToken", func(t *testing.T) {
		cred, err := n.A.Node.Auth().Create(n.ctx, n.ClientA)
		if err != nil {
			t.Fatal(err)
		}
		plain := n.client(t, false)
		form := url.Values{"grant_type": {"client_credentials"}}
		req, _ := http.NewRequest("POST", "https://"+n.A.Node.APIAddr()+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(cred.KeyID, cred.Secret)
		resp, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if tok.AccessToken == "" {
			t.Fatalf("token endpoint: %d", resp.StatusCode)
		}
		a := do(t, plain, "GET", n.url("/citizens/002"), "", nil, "Authorization", "Bearer "+tok.AccessToken)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		exchangeError(t, do(t, plain, "GET", n.url("/citizens/002"), "", nil), 401, "unauthenticated")
		exchangeError(t, do(t, plain, "GET", n.url("/citizens/002"), "", nil, "Authorization", "Bearer "+tok.AccessToken+"x"), 401, "unauthenticated")
	})
	t.Run("BadInput", func(t *testing.T) {
		exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil, "X-Request-ID", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 400, "bad_request_id")
		exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil, "X-DXL-Client", "VN-DEMO/GOV/000.00.00.B01/DANCU"), 403, "client_mismatch")
		exchangeError(t, do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/VN-DEMO/GOV/000.00.00.B01/DANCU/nosuch/x", "", nil), 404, "unknown_service")
		exchangeError(t, do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/VN-DEMO/GOV", "", nil), 400, "bad_request")
		exchangeError(t, do(t, c, "GET", n.url("/citizens/1"), "", nil, "X-Request-ID", ""), 400, "bad_request_id")
		tok := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/token", "", nil)
		exchangeError(t, tok, 405, "method_not_allowed")
		if tok.header.Get("Allow") != "POST" {
			t.Errorf("GET /token: Allow %q", tok.header.Get("Allow"))
		}
	})
	t.Run("Metadata", func(t *testing.T) {
		provider := strings.TrimSuffix(n.Service, "/"+devnet.SampleServiceCode)
		a := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/"+provider+"/listMethods", "", nil)
		var ml node.MethodList
		if err := json.Unmarshal(a.body, &ml); err != nil || a.status != 200 || len(ml.Service) != 2 || ml.Service[0].ServiceCode != devnet.SampleSOAPCode || ml.Service[1].ServiceCode != devnet.SampleServiceCode || len(ml.Service[1].EndpointList) != 4 {
			t.Fatalf("listMethods %d %s", a.status, a.body)
		}
		a = do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/r1/"+provider+"/getOpenAPI?serviceCode="+devnet.SampleServiceCode, "", nil)
		if a.status != 200 || string(a.body) != devnet.SampleOpenAPI {
			t.Fatalf("getOpenAPI %d %s", a.status, a.body)
		}
		a = do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/listClients", "", nil, "Accept", "application/json")
		if a.status != 200 || !bytes.Contains(a.body, []byte(`"subsystem_code":"TUPHAP"`)) {
			t.Fatalf("listClients %d %s", a.status, a.body)
		}
	})
	t.Run("Health", func(t *testing.T) {
		a := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/health", "", nil)
		var h node.Health
		if err := json.Unmarshal(a.body, &h); err != nil || a.status != 200 || h.Status != "ok" || h.ConfigVersion == 0 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		sh, err := n.B.Node.CheckService(n.ctx, strings.TrimSuffix(n.Service, ""))
		if err != nil || sh.Status != "ok" || sh.Versions[0].HTTPStatus != 200 {
			t.Fatalf("level 2: %+v %v", sh, err)
		}
	})
}

// TestEndToEndLGSPAndValidation calls through an LGSP route mapped on A's
// node, and against a provider that validates requests with the OpenAPI
// description.
func TestEndToEndLGSPAndValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network: full suite only")
	}
	t.Parallel()
	service := "VN-DEMO/GOV/" + devnet.AgencyB.Code + "/" + devnet.AgencyB.Subsystem + "/" + devnet.SampleServiceCode
	n := startNetTB(t, func(c *node.Config) {
		c.LGSP = []services.LGSPRoute{{Version: "v1", Domain: "dancu", Resource: "congdan", Service: service}}
	}, func(c *node.Config) { c.Services[0].ValidateRequests = true })
	c := n.client(t, true)
	a := do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/v1/dancu/congdan/citizens/042", "", nil)
	if a.status != 200 || !bytes.Contains(a.body, []byte(`"id":"042"`)) {
		t.Fatalf("LGSP route: %d %s", a.status, a.body)
	}
	exchangeError(t, do(t, c, "GET", "https://"+n.A.Node.APIAddr()+"/v1/dancu/nosuch/x", "", nil), 404, "unknown_service")

	if a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Le Van C"}`)); a.status != 201 {
		t.Fatalf("valid request: %d %s", a.status, a.body)
	}
	exchangeError(t, do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"born":"2000-01-01"}`)), 400, "request_invalid")
	exchangeError(t, do(t, c, "DELETE", n.url("/citizens/1"), "", nil), 400, "request_invalid")
}

func TestEndToEndLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network: full suite only")
	}
	t.Parallel()
	n := startNet(t, nil)
	c := n.client(t, true)
	sunset := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	if _, err := n.Admin.DeprecateService(n.ctx, n.Service, sunset); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Admin.RetireService(n.ctx, n.soapService()); err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConfig(n.ctx, n.A); err != nil {
		t.Fatal(err)
	}
	a := do(t, c, "GET", n.url("/citizens/1"), "", nil)
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Deprecation"), "@") || a.header.Get("Sunset") != sunset.Format(http.TimeFormat) {
		t.Fatalf("deprecated service: %d Deprecation %q Sunset %q", a.status, a.header.Get("Deprecation"), a.header.Get("Sunset"))
	}
	env := soapEnvelope("http://schemas.xmlsoap.org/soap/envelope/", n.ClientA, n.soapService())
	a = do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/", "text/xml", []byte(env))
	if a.header.Get(node.HeaderError) != "service_retired" || !bytes.Contains(a.body, []byte("Fault")) {
		t.Fatalf("retired SOAP service: %d %v %s", a.status, a.header, a.body)
	}
}

func (n *testNet) soapService() string {
	return n.SubsystemID(devnet.AgencyB) + "/" + devnet.SampleSOAPCode + "/v1"
}

func soapEnvelope(ns, client, service string) string {
	cp := strings.Split(client, "/")
	sp := strings.Split(service, "/")
	return `<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="` + ns + `" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
<env:Header>
<xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>` + cp[0] + `</id:xRoadInstance><id:memberClass>` + cp[1] + `</id:memberClass><id:memberCode>` + cp[2] + `</id:memberCode><id:subsystemCode>` + cp[3] + `</id:subsystemCode></xrd:client>
<xrd:service id:objectType="SERVICE"><id:xRoadInstance>` + sp[0] + `</id:xRoadInstance><id:memberClass>` + sp[1] + `</id:memberClass><id:memberCode>` + sp[2] + `</id:memberCode><id:subsystemCode>` + sp[3] + `</id:subsystemCode><id:serviceCode>` + sp[4] + `</id:serviceCode><id:serviceVersion>` + sp[5] + `</id:serviceVersion></xrd:service>
<xrd:id>soap-1</xrd:id><xrd:protocolVersion>4.0</xrd:protocolVersion>
</env:Header>
<env:Body><getCitizen><id>001</id></getCitizen></env:Body>
</env:Envelope>`
}

var _ = sha256.Sum256
var _ = filepath.Join
var _ = ident.ServicePublished

func pemOf(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }

// committedLog is nd's message log once everything logged so far is
// committed to it (a call's answer waits for the journal, not for the
// log's own commit).
func committedLog(t testing.TB, nd *node.Node) *msglog.Log {
	t.Helper()
	if err := nd.MessageLog().Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return nd.MessageLog()
}

// committedRecords is committedLog for the operational records.
func committedRecords(t testing.TB, nd *node.Node) *oprec.Store {
	t.Helper()
	if err := nd.Records().Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return nd.Records()
}
