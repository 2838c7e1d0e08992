package cli

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
)

// TestProviderOnboarding is the provider side of docs/integration.md §3: a
// new agency joins with one command, provides a plain REST service (no
// OpenAPI file) from its own backend granted to agency A's system with
// one more, the operator publishes it without a description, the node
// serves, and A's system calls it through both nodes.
func TestProviderOnboarding(t *testing.T) {
	if testing.Short() {
		t.Skip("a demo network and a new member's node: full suite only")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: filepath.Join(work, "net"), FastRaft: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "office": "Sở Tư pháp"})
	}))
	defer backend.Close()
	pass := filepath.Join(work, "pass")
	tok := filepath.Join(work, "token")
	os.WriteFile(pass, []byte("node passphrase\n"), 0o600)
	os.WriteFile(tok, []byte(d.AdminToken+"\n"), 0o600)
	dir, member := filepath.Join(work, "h26"), d.Instance+"/GOV/000.00.00.H26"
	sub := member + "/HOTICH"
	go approveWhenPending(ctx, d.Network, member)

	// 1. join, on a libp2p port other nodes can dial (it is registered).
	_, port, _ := strings.Cut(freeAddr(t), ":")
	if out, err := dxl(ctx, "node", "join", "--dir", dir, "--anchor", d.AnchorPath, "--member", member, "--form", "../docs/examples/registration.json",
		"--passphrase-file", pass, "--listen", "/ip4/127.0.0.1/tcp/"+port, "--api-listen", freeAddr(t), "--wait", "1m"); err != nil {
		t.Fatalf("join: %v\n%s", err, out)
	}
	testSystemRequest(t, ctx, d, dir, pass, member)
	// 2. the service, granted to A's system; a second time is refused.
	add := []string{"node", "service", "add", "--dir", dir, "--subsystem", sub, "--code", "birth", "--version", "v1",
		"--backend", backend.URL + "/api", "--grant", d.ClientA}
	out, err := dxl(ctx, append(add, "--json")...)
	var added struct {
		node.ServiceAdded
		Publish string `json:"publish_command"`
	}
	if err != nil || json.Unmarshal([]byte(out), &added) != nil || added.Service != sub+"/birth/v1" || added.DescriptionSHA256 != "" {
		t.Fatalf("service add: %v\n%s", err, out)
	}
	before, _ := os.ReadFile(filepath.Join(dir, node.FileConfig))
	if _, err := dxl(ctx, add...); err == nil || !strings.Contains(err.Error(), "already has version") {
		t.Fatalf("the same version twice: %v", err)
	}
	if _, err := dxl(ctx, "node", "service", "add", "--dir", dir, "--subsystem", sub, "--code", "x", "--backend", "ftp://nowhere"); err == nil {
		t.Fatal("an ftp backend was accepted")
	}
	if after, _ := os.ReadFile(filepath.Join(dir, node.FileConfig)); string(after) != string(before) {
		t.Fatal("a refused service add changed node.json")
	}
	// The operator runs the printed command.
	runPublish(t, ctx, d, tok, added.Publish)
	schemaVersion(t, ctx, d, dir, sub, backend.URL, tok)
	// 3. serve; 4. A's system calls it.
	background(t, "node", "serve", "--dir", dir, "--passphrase-file", pass)
	if err := d.WaitConfig(ctx, d.A); err != nil {
		t.Fatal(err)
	}
	c := isClient(t, d)
	url := "https://" + d.A.Node.APIAddr() + "/r1/" + sub + "/birth/v1/records/42"
	var body []byte
	status := 0
	for deadline := time.Now().Add(2 * time.Minute); status != http.StatusOK; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the call through the new provider's node: last answer %d %s", status, body)
		}
		resp, err := c.Get(url)
		if err != nil {
			status, body = 0, []byte(err.Error())
			continue
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	if !strings.Contains(string(body), `"path":"/api/records/42"`) || !strings.Contains(string(body), "Sở Tư pháp") {
		t.Fatalf("answer %s", body)
	}
	// v2 checks request bodies against the schema published with it.
	v2 := "https://" + d.A.Node.APIAddr() + "/r1/" + sub + "/birth/v2/records"
	for body, want := range map[string]int{`{"child":"Le Van An"}`: http.StatusOK, `{"child":7}`: http.StatusBadRequest} {
		resp, err := c.Post(v2, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want || want != http.StatusOK && resp.Header.Get("X-DXL-Error") != "schema_invalid" {
			t.Fatalf("v2 %s: %d %s, want %d", body, resp.StatusCode, resp.Header.Get("X-DXL-Error"), want)
		}
	}
}

// runPublish runs the publish command service add printed, as the
// operator (anchor and token of the demo).
func runPublish(t *testing.T, ctx context.Context, d *devnet.Demo, tok, printed string) {
	t.Helper()
	publish := strings.Fields(printed)
	if len(publish) < 4 || strings.Join(publish[:4], " ") != "dxl registry service publish" {
		t.Fatalf("publish command %q", printed)
	}
	publish = append(publish[1:], "--token-file", tok)
	publish[4] = d.AnchorPath // --anchor anchor.json
	if out, err := dxl(ctx, publish...); err != nil {
		t.Fatalf("%s: %v\n%s", printed, err, out)
	}
}

// schemaVersion adds version v2 of the service with request and response
// schemas (a schema that does not compile is refused, node.json
// unchanged), and publishes it with the printed command, which names
// the same files.
func schemaVersion(t *testing.T, ctx context.Context, d *devnet.Demo, dir, sub, backend, tok string) {
	t.Helper()
	files := map[string]string{"request.json": `{"type":"object","required":["child"],"properties":{"child":{"type":"string"}}}`,
		"response.json": `{"type":"object","required":["path","office"]}`, "bad.json": `{"type":"nonsense"}`}
	for name, doc := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	add := []string{"node", "service", "add", "--dir", dir, "--subsystem", sub, "--code", "birth", "--version", "v2",
		"--backend", backend + "/api", "--grant", d.ClientA, "--response-schema", filepath.Join(dir, "response.json"), "--validate-responses"}
	before, _ := os.ReadFile(filepath.Join(dir, node.FileConfig))
	if _, err := dxl(ctx, append(add, "--request-schema", filepath.Join(dir, "bad.json"))...); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("a schema that does not compile: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, node.FileConfig)); string(after) != string(before) {
		t.Fatal("a refused service add changed node.json")
	}
	out, err := dxl(ctx, append(add, "--request-schema", filepath.Join(dir, "request.json"), "--json")...)
	var added struct {
		Publish string `json:"publish_command"`
	}
	if err != nil || json.Unmarshal([]byte(out), &added) != nil || !strings.Contains(added.Publish, "--request-schema "+filepath.Join(dir, "request.json")) {
		t.Fatalf("service add with schemas: %v\n%s", err, out)
	}
	runPublish(t, ctx, d, tok, added.Publish)
}

// testSystemRequest adds a system to the joined member through the
// workflow (dxl node system add, approved by the operator); a request
// signed with another key, and the same signed request again, are
// refused.
func testSystemRequest(t *testing.T, ctx context.Context, d *devnet.Demo, dir, pass, member string) {
	t.Helper()
	raw, err := os.ReadFile("../docs/examples/registration.json")
	if err != nil {
		t.Fatal(err)
	}
	var form state.Registration
	if err := json.Unmarshal(raw, &form); err != nil {
		t.Fatal(err)
	}
	form.System.Code, form.System.Name = "KHAISINH", "Đăng ký khai sinh"
	file := filepath.Join(t.TempDir(), "khaisinh.json")
	raw, _ = json.Marshal(form)
	os.WriteFile(file, raw, 0o600)
	go approveWhenPending(ctx, d.Network, member)
	out, err := dxl(ctx, "node", "system", "add", "--dir", dir, "--form", file, "--passphrase-file", pass, "--wait", "1m", "--json")
	var st client.RegistrationStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Status != state.RequestApproved {
		t.Fatalf("system add: %v\n%s", err, out)
	}
	if sub, ok := d.Registry.Server().State().Subsystems[member+"/KHAISINH"]; !ok || sub.Status != ident.SubsystemActive {
		t.Fatalf("subsystem after approval: %+v", sub)
	}
	// Forged: the member's certificate, another key.
	m := d.Registry.Server().State().Members[member]
	_, other, _ := ed25519.GenerateKey(nil)
	form.System.Code = "GIA"
	forged, err := client.SignSystemRequest(other, m.SignCert.DER, client.SystemForm{Member: member, Registration: form})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Admin.SubmitSystem(ctx, forged); !errors.Is(err, state.ErrMemberSignature) {
		t.Fatalf("a request signed with another key: %v", err)
	}
	// Replayed: the node's own signed request, twice.
	id, err := nodeSigner(dir, pass)
	if err != nil {
		t.Fatal(err)
	}
	form.System.Code = "REPLAY"
	signed, err := client.SignSystemRequest(id, m.SignCert.DER, client.SystemForm{Member: member, Registration: form})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Admin.SubmitSystem(ctx, signed); err != nil {
		t.Fatalf("the node's own request: %v", err)
	}
	if _, err := d.Admin.SubmitSystem(ctx, signed); !errors.Is(err, state.ErrDuplicateRequest) {
		t.Fatalf("the same request replayed: %v", err)
	}
}

// nodeSigner reads the member's signing key of the node in dir.
func nodeSigner(dir, passFile string) (crypto.Signer, error) {
	pass, err := os.ReadFile(passFile)
	if err != nil {
		return nil, err
	}
	return keystore.ReadFile(filepath.Join(dir, node.FileSignKey), bytes.TrimSpace(pass))
}

// approveWhenPending approves member's registration once it is pending.
func approveWhenPending(ctx context.Context, nw *devnet.Network, member string) {
	for ctx.Err() == nil {
		if list, err := nw.Admin.Registrations(ctx, state.RequestPending); err == nil {
			for _, r := range list {
				if r.Member == member {
					nw.Admin.Approve(ctx, r.RequestID)
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isClient is A's information system: its pinned certificate, A's API
// certificate trusted.
func isClient(t *testing.T, d *devnet.Demo) *http.Client {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(d.ISCert, d.ISKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(d.APICert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(raw)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}}
}
