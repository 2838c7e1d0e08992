package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/testutil"
)

// dxl runs the dxl command line in-process and returns its standard output.
func dxl(ctx context.Context, args ...string) (string, error) {
	var out testutil.SyncBuffer
	err := runApp(ctx, &out, args...)
	return out.String(), err
}

func runApp(ctx context.Context, out *testutil.SyncBuffer, args ...string) error {
	return runSplit(ctx, out, out, args...)
}

// runSplit runs the dxl command line in-process with stdout and stderr
// apart. It holds appMu until the command's action starts (or the run
// ends), so that parallel tests' runs parse their flags one at a time.
func runSplit(ctx context.Context, out, errOut *testutil.SyncBuffer, args ...string) error {
	app := App()
	app.Writer, app.ErrWriter = out, errOut
	app.ExitErrHandler = func(*cli.Context, error) {}
	appMu.Lock()
	var once sync.Once
	release := func() { once.Do(appMu.Unlock) }
	defer release()
	releaseOnAction(app.Commands, release)
	return app.RunContext(ctx, append([]string{"dxl", "--log-level", "warn"}, args...))
}

// releaseOnAction makes every command's action call release first.
func releaseOnAction(cmds []*cli.Command, release func()) {
	for _, c := range cmds {
		if act := c.Action; act != nil {
			c.Action = func(cc *cli.Context) error {
				release()
				return act(cc)
			}
		}
		releaseOnAction(c.Subcommands, release)
	}
}

// background runs a long-lived command (serve, dev) until the test ends.
func background(t *testing.T, args ...string) *testutil.SyncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &testutil.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runApp(ctx, out, args...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v\n%s", args[0], err, out)
		}
	})
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond until it holds or 30 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}

// TestCLIEndToEnd drives the CA and the TSA through the dxl commands as an
// operator would, with OpenSSL on the other side, while `dxl ca serve`
// holds the CA directory.
func TestCLIEndToEnd(t *testing.T) {
	work := t.TempDir()
	openssl := testutil.OpenSSL(t, work)
	t.Setenv(EnvPassphrase, "e2e passphrase")
	ctx := context.Background()
	caDir, tsaDir := filepath.Join(work, "ca"), filepath.Join(work, "tsa")

	out, err := dxl(ctx, "ca", "init", "--dir", caDir, "--instance", "VN-TEST", "--org", "Cuc Chuyen doi so", "--json")
	if err != nil {
		t.Fatalf("ca init: %v\n%s", err, out)
	}
	var initOut map[string]any
	mustJSON(t, out, &initOut)
	if fp, _ := initOut["root_sha256_fingerprint"].(string); len(fp) != 64 {
		t.Fatalf("ca init --json: %s", out)
	}

	caAddr := freeAddr(t)
	background(t, "ca", "serve", "--dir", caDir, "--listen", caAddr)
	waitFor(t, "ca serve", func() bool { return httpOK("http://" + caAddr + "/healthz") })
	// From here on the database is locked by serve: the commands below go
	// through the admin socket, with no passphrase.
	t.Setenv(EnvPassphrase, "")

	openssl("req", "-new", "-newkey", "ed25519", "-nodes", "-keyout", "node.key", "-subj", "/O=So TTTT Ha Noi", "-out", "node.csr")
	out, err = dxl(ctx, "ca", "issue", "--dir", caDir, "--csr", filepath.Join(work, "node.csr"), "--profile", "node-auth",
		"--member", "GOV/000.00.00.H26", "--out", filepath.Join(work, "node.pem"), "--json")
	if err != nil {
		t.Fatalf("ca issue: %v\n%s", err, out)
	}
	var issued ca.Issued
	mustJSON(t, out, &issued)
	if issued.PeerID == "" || issued.Member != "VN-TEST/GOV/000.00.00.H26" {
		t.Fatalf("issued %+v", issued.Record)
	}
	if out := openssl("verify", "-CAfile", filepath.Join(caDir, "root.pem"), "-untrusted", filepath.Join(caDir, "intermediate.pem"), "-purpose", "sslclient", "node.pem"); !strings.Contains(out, "node.pem: OK") {
		t.Fatalf("openssl verify: %s", out)
	}

	if _, err := dxl(ctx, "ca", "issue", "--dir", caDir, "--csr", filepath.Join(work, "node.key"), "--profile", "node-auth", "--member", "GOV/X"); !errors.Is(err, ca.ErrCSRMalformed) {
		t.Fatalf("issuing from a key file: %v", err)
	}
	if _, err := dxl(ctx, "ca", "issue", "--dir", caDir, "--csr", filepath.Join(work, "node.csr"), "--profile", "root"); !errors.Is(err, ca.ErrUnknownProfile) {
		t.Fatalf("unknown profile: %v", err)
	}

	ocspStatus := func() string {
		return openssl("ocsp", "-issuer", filepath.Join(caDir, "intermediate.pem"), "-cert", "node.pem", "-url", "http://"+caAddr+"/ocsp",
			"-CAfile", filepath.Join(caDir, "root.pem"), "-verify_other", filepath.Join(caDir, "intermediate.pem"))
	}
	if out := ocspStatus(); !strings.Contains(out, "node.pem: good") {
		t.Fatalf("ocsp before revoke: %s", out)
	}
	if out, err := dxl(ctx, "ca", "revoke", "--dir", caDir, "--serial", issued.Serial, "--reason", "keyCompromise"); err != nil {
		t.Fatalf("ca revoke: %v\n%s", err, out)
	}
	if out := ocspStatus(); !strings.Contains(out, "node.pem: revoked") {
		t.Fatalf("ocsp after revoke: %s", out)
	}
	if _, err := dxl(ctx, "ca", "revoke", "--dir", caDir, "--serial", issued.Serial); !errors.Is(err, ca.ErrAlreadyRevoked) {
		t.Fatalf("second revoke: %v", err)
	}
	if out, err := dxl(ctx, "ca", "crl", "--dir", caDir, "--out", filepath.Join(work, "ca.crl")); err != nil {
		t.Fatalf("ca crl: %v\n%s", err, out)
	}
	if out := openssl("crl", "-inform", "DER", "-in", "ca.crl", "-noout", "-text"); !strings.Contains(strings.ToLower(out), issued.Serial) {
		t.Fatalf("CRL lacks %s:\n%s", issued.Serial, out)
	}
	out, err = dxl(ctx, "ca", "list", "--dir", caDir, "--status", "revoked", "--json")
	var revoked []ca.Record
	if mustJSON(t, out, &revoked); err != nil || len(revoked) != 1 || revoked[0].Serial != issued.Serial {
		t.Fatalf("ca list: %v %s", err, out)
	}

	// The TSA: certified through the running CA, then served and used.
	t.Setenv(EnvPassphrase, "tsa passphrase")
	if out, err := dxl(ctx, "tsa", "init", "--dir", tsaDir, "--ca-dir", caDir, "--json"); err != nil {
		t.Fatalf("tsa init: %v\n%s", err, out)
	}
	tsaAddr := freeAddr(t)
	background(t, "tsa", "serve", "--dir", tsaDir, "--listen", tsaAddr)
	waitFor(t, "tsa serve", func() bool { return httpOK("http://" + tsaAddr + "/healthz") })
	doc := filepath.Join(work, "report.txt")
	os.WriteFile(doc, []byte("Bao cao so lieu quy IV\n"), 0o600)
	if out, err := dxl(ctx, "tsa", "stamp", "--url", "http://"+tsaAddr+"/", doc); err != nil {
		t.Fatalf("tsa stamp: %v\n%s", err, out)
	}
	out, err = dxl(ctx, "tsa", "verify", doc, doc+".tsr", "--root", filepath.Join(caDir, "root.pem"), "--json")
	if err != nil {
		t.Fatalf("tsa verify: %v\n%s", err, out)
	}
	if out := openssl("ts", "-verify", "-data", doc, "-in", doc+".tsr", "-CAfile", filepath.Join(caDir, "root.pem"), "-untrusted", filepath.Join(caDir, "intermediate.pem")); !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify: %s", out)
	}
	os.WriteFile(doc, []byte("Bao cao so lieu quy IV (sua)\n"), 0o600)
	if _, err := dxl(ctx, "tsa", "verify", doc, doc+".tsr", "--root", filepath.Join(caDir, "root.pem")); err == nil {
		t.Fatal("tsa verify accepted a token for a changed file")
	}
}

// TestDevCommand runs README's first command and uses what it serves.
func TestDevCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dev")
	t.Setenv(EnvPassphrase, "")
	out := background(t, "dev", "--dir", dir, "--ca-listen", "127.0.0.1:0", "--tsa-listen", "127.0.0.1:0")
	tsaURL := regexp.MustCompile(`TSA  (http://127\.0\.0\.1:\d+/)`)
	caURL := regexp.MustCompile(`CA   (http://127\.0\.0\.1:\d+)`)
	waitFor(t, "dev banner", func() bool { return tsaURL.MatchString(out.String()) && caURL.MatchString(out.String()) })
	if p, err := os.ReadFile(filepath.Join(dir, "passphrase")); err != nil || len(p) < 32 {
		t.Fatalf("dev passphrase file: %v", err)
	}
	doc := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(doc, []byte("hello"), 0o600)
	ctx := context.Background()
	if o, err := dxl(ctx, "tsa", "stamp", "--url", tsaURL.FindStringSubmatch(out.String())[1], doc); err != nil {
		t.Fatalf("stamp against dev: %v\n%s", err, o)
	}
	if o, err := dxl(ctx, "tsa", "verify", doc, doc+".tsr", "--root", filepath.Join(dir, "ca", "root.pem")); err != nil {
		t.Fatalf("verify against dev: %v\n%s", err, o)
	}
	if !httpOK(caURL.FindStringSubmatch(out.String())[1] + "/crl") {
		t.Fatal("dev CA serves no CRL")
	}
}
