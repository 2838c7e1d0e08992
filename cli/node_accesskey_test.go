package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node/auth"
)

// TestAccessKeyCLI: `dxl node access-key create` prints a secret once
// that signs a call the node accepts; list shows the key without it;
// revoke ends it.
func TestAccessKeyCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a demo network")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: filepath.Join(t.TempDir(), "net"), FastRaft: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := dxl(ctx, "node", "access-key", "create", "--dir", d.A.Dir, "--subsystem", d.ClientA, "--json")
	var k auth.IssuedAccessKey
	if err != nil || json.Unmarshal([]byte(out), &k) != nil || !strings.HasPrefix(k.Secret, auth.AccessSecretPrefix) {
		t.Fatalf("create: %v\n%s", err, out)
	}
	pool := x509.NewCertPool()
	raw, _ := os.ReadFile(d.APICert)
	pool.AppendCertsFromPEM(raw)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	call := func() (int, string) {
		req, _ := http.NewRequest("GET", "https://"+d.A.Node.APIAddr()+"/r1/"+d.Service+"/citizens/001", nil)
		if err := (auth.RequestSigner{Credential: k.AccessKey, Secret: k.Secret}).Sign(req, nil); err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-DXL-Error")
	}
	if st, code := call(); st != 200 {
		t.Fatalf("signed call: %d %s", st, code)
	}
	if out, err := dxl(ctx, "node", "access-key", "list", "--dir", d.A.Dir); err != nil || !strings.Contains(out, k.AccessKey+"  hmac") ||
		strings.Contains(out, k.Secret) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "node", "access-key", "revoke", "--dir", d.A.Dir, k.AccessKey); err != nil || !strings.Contains(out, "revoked "+k.AccessKey) {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	if st, code := call(); st != 401 || code != "auth_access_key_revoked" {
		t.Fatalf("after revoke: %d %s", st, code)
	}
	if out, err := dxl(ctx, "node", "access-key", "create", "--dir", d.A.Dir, "--subsystem", d.ClientA, "--rsa-public-key", d.APICert); err == nil {
		t.Fatalf("a certificate taken for an RSA public key: %s", out)
	}
	if out, err := dxl(ctx, "node", "access-key", "--help"); err != nil || !strings.Contains(out, "scripts/signed-request.sh") {
		t.Fatalf("help: %v\n%s", err, out)
	}
}
