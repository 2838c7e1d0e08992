package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/envelope"
)

// adminJSON calls the admin socket of the node in dir.
func adminJSON(t *testing.T, dir, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://node"+path, body)
	resp, err := node.AdminClient(dir).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %d: %v", method, path, resp.StatusCode, err)
		}
	}
	return resp.StatusCode
}

// signedDo signs a request with s (tamper may change it afterwards) and
// sends it to A's consumer API.
func signedDo(t *testing.T, c *http.Client, s auth.RequestSigner, method, u string, body []byte, tamper func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	} else {
		s.Headers = nil // nothing but host and the date to sign
	}
	// A request ID, signed, makes two equal requests in one second two
	// signatures (each is accepted once).
	req.Header.Set(node.HeaderRequestID, envelope.NewRequestID().String())
	s.Headers = append(s.Headers, "x-request-id")
	if err := s.Sign(req, body); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, out}
}

// TestAccessKeysEndToEnd: an information system authenticated by signed
// requests alone (no client certificate, no token) calls B's service
// through A with an HMAC-SHA256 key, an RSA key and a session key; a
// changed byte, a replay, a stale date, HMAC-SHA1 on a key without it
// and a revoked key are each refused with their own code, before the
// call leaves A.
func TestAccessKeysEndToEnd(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, false)
	var hk auth.IssuedAccessKey
	if st := adminJSON(t, n.A.Dir, "POST", "/v1/access-keys", map[string]any{"subsystem": n.ClientA}, &hk); st != 200 || hk.Secret == "" {
		t.Fatalf("create: %d %+v", st, hk)
	}
	s := auth.RequestSigner{Credential: hk.AccessKey, Secret: hk.Secret, Headers: []string{"content-type"}}

	a := signedDo(t, c, s, "GET", n.url("/citizens/001?fields=all"), nil, nil)
	var got map[string]string
	if a.status != 200 || json.Unmarshal(a.body, &got) != nil || got["requested_by"] != n.ClientA {
		t.Fatalf("HMAC-SHA256 GET: %d %s", a.status, a.body)
	}
	body := []byte(`{"name":"Tran Thi B"}`)
	if a := signedDo(t, c, s, "POST", n.url("/citizens"), body, nil); a.status != 201 || !bytes.Contains(a.body, []byte("Tran Thi B")) {
		t.Fatalf("HMAC-SHA256 POST: %d %s", a.status, a.body)
	}
	for name, tc := range map[string]struct {
		code   string
		tamper func(*http.Request)
	}{
		"body":   {"auth_body_mismatch", func(r *http.Request) { r.Body = io.NopCloser(strings.NewReader(`{"name":"Tran Thi C"}`)) }},
		"path":   {"auth_signature_invalid", func(r *http.Request) { r.URL.Path += "x" }},
		"query":  {"auth_signature_invalid", func(r *http.Request) { r.URL.RawQuery = "dry=1" }},
		"header": {"auth_signature_invalid", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
	} {
		exchangeErrorNamed(t, name, signedDo(t, c, s, "POST", n.url("/citizens"), body, tc.tamper), 401, tc.code)
	}
	var first *http.Request
	signedDo(t, c, s, "GET", n.url("/citizens/003"), nil, func(r *http.Request) { first = r.Clone(context.Background()) })
	exchangeErrorNamed(t, "replay", signedDo(t, c, s, "GET", n.url("/citizens/003"), nil,
		func(r *http.Request) { r.Header = first.Header }), 401, "auth_replayed")
	stale := s
	stale.Now = func() time.Time { return time.Now().Add(-20 * time.Minute) }
	exchangeErrorNamed(t, "stale", signedDo(t, c, stale, "GET", n.url("/citizens/003"), nil, nil), 401, "auth_signature_stale")
	sha1 := s
	sha1.Algorithm = auth.AlgHMACSHA1
	exchangeErrorNamed(t, "sha1", signedDo(t, c, sha1, "GET", n.url("/citizens/003"), nil, nil), 401, "auth_algorithm_refused")

	t.Run("RSAAndSession", func(t *testing.T) { rsaAndSession(t, n, c) })

	var revoked auth.AccessKey
	if st := adminJSON(t, n.A.Dir, "DELETE", "/v1/access-keys/"+hk.AccessKey, nil, &revoked); st != 200 || revoked.Revoked.IsZero() {
		t.Fatalf("revoke: %d %+v", st, revoked)
	}
	exchangeErrorNamed(t, "revoked", signedDo(t, c, s, "GET", n.url("/citizens/003"), nil, nil), 401, "auth_access_key_revoked")
	var list []auth.AccessKey
	adminJSON(t, n.A.Dir, "GET", "/v1/access-keys", nil, &list)
	for _, k := range list {
		if len(k.SealedSecret) != 0 {
			t.Errorf("listing shows a sealed secret of %s", k.ID)
		}
	}
	entries, err := n.A.Node.Audit().List(0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, e := range entries {
		if e.Target == hk.AccessKey {
			actions[e.Action] = true
			if strings.Contains(e.Detail, hk.Secret) {
				t.Error("secret in the audit log")
			}
		}
	}
	if !actions["access_key.create"] || !actions["access_key.revoke"] {
		t.Errorf("audit log actions for the key: %v", actions)
	}
}

func rsaAndSession(t *testing.T, n *testNet, c *http.Client) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	var rk auth.IssuedAccessKey
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if st := adminJSON(t, n.A.Dir, "POST", "/v1/access-keys", map[string]any{"subsystem": n.ClientA, "rsa_public_key": pub}, &rk); st != 200 || rk.Secret != "" {
		t.Fatalf("create RSA key: %d %+v", st, rk)
	}
	for _, alg := range []string{auth.AlgRSASHA256, auth.AlgRSAPSSSHA256} {
		s := auth.RequestSigner{Algorithm: alg, Credential: rk.AccessKey, RSAKey: priv}
		if a := signedDo(t, c, s, "POST", n.url("/citizens"), []byte(`{"name":"X"}`), nil); a.status >= 300 {
			t.Fatalf("%s: %d %s", alg, a.status, a.body)
		}
	}
	long := auth.RequestSigner{Credential: rk.AccessKey, RSAKey: priv}
	a := signedDo(t, c, long, "POST", "https://"+n.A.Node.APIAddr()+auth.SessionPath, nil, nil)
	var sess auth.Session
	if a.status != 200 || json.Unmarshal(a.body, &sess) != nil || sess.SessionSecret == "" {
		t.Fatalf("session: %d %s", a.status, a.body)
	}
	s := auth.RequestSigner{Credential: sess.SessionKey, Secret: sess.SessionSecret}
	if a := signedDo(t, c, s, "GET", n.url("/citizens/005"), nil, nil); a.status != 200 {
		t.Fatalf("with the session key: %d %s", a.status, a.body)
	}
	adminJSON(t, n.A.Dir, "DELETE", "/v1/access-keys/"+rk.AccessKey, nil, nil)
	exchangeErrorNamed(t, "session of a revoked key", signedDo(t, c, s, "GET", n.url("/citizens/005"), nil, nil), 401, "auth_access_key_revoked")
}

func exchangeErrorNamed(t *testing.T, name string, a answer, status int, code string) {
	t.Helper()
	if a.status != status || a.header.Get(node.HeaderError) != code {
		t.Errorf("%s: want %d %s, got %d %q: %s", name, status, code, a.status, a.header.Get(node.HeaderError), a.body)
	}
}

// TestSignedRequestScript: scripts/signed-request.sh (curl and openssl
// only) signs requests a real node accepts, with an HMAC key, HMAC-SHA1
// where the key allows it, an RSA key (PKCS#1 v1.5 and PSS) and a session
// key it opened itself; a wrong secret is refused with its code.
func TestSignedRequestScript(t *testing.T) {
	if testing.Short() {
		t.Skip("runs curl and openssl some twenty times")
	}
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not found")
	}
	n := sharedNet(t)
	dir := t.TempDir()
	openssl := testutil.OpenSSL(t, dir)
	script, _ := filepath.Abs(filepath.Join("..", "scripts", "signed-request.sh"))
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{script}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append(env, "DXL_CACERT="+n.APICert)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(want string, env []string, args ...string) string {
		t.Helper()
		out, err := run(env, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("signed-request.sh %v: %v\n%s", args, err, out)
		}
		return out
	}
	var hk, old, rk auth.IssuedAccessKey
	adminJSON(t, n.A.Dir, "POST", "/v1/access-keys", map[string]any{"subsystem": n.ClientA}, &hk)
	adminJSON(t, n.A.Dir, "POST", "/v1/access-keys", map[string]any{"subsystem": n.ClientA, "allow_hmac_sha1": true}, &old)
	hmacEnv := []string{"DXL_ACCESS_KEY=" + hk.AccessKey, "DXL_SECRET_KEY=" + hk.Secret}
	mustRun(`"requested_by":"`+n.ClientA, hmacEnv, "GET", n.url("/citizens/001?fields=all&a=1"))
	os.WriteFile(filepath.Join(dir, "body.json"), []byte(`{"name":"Pham Thi E"}`), 0o600)
	mustRun("Pham Thi E", hmacEnv, "POST", n.url("/citizens"), "body.json")
	mustRun(`"id":"006"`, []string{"DXL_ACCESS_KEY=" + old.AccessKey, "DXL_SECRET_KEY=" + old.Secret, "DXL_ALGORITHM=DXL-HMAC-SHA1"},
		"GET", n.url("/citizens/006"))
	if out, err := run([]string{"DXL_ACCESS_KEY=" + hk.AccessKey, "DXL_SECRET_KEY=" + hk.Secret + "x"}, "GET", n.url("/citizens/001")); err == nil ||
		!strings.Contains(out, "auth_signature_invalid") {
		t.Fatalf("wrong secret: %v\n%s", err, out)
	}

	openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "is.key")
	openssl("pkey", "-in", "is.key", "-pubout", "-out", "is.pub")
	pub, _ := os.ReadFile(filepath.Join(dir, "is.pub"))
	adminJSON(t, n.A.Dir, "POST", "/v1/access-keys", map[string]any{"subsystem": n.ClientA, "rsa_public_key": string(pub)}, &rk)
	for _, alg := range []string{auth.AlgRSASHA256, auth.AlgRSAPSSSHA256} {
		mustRun(`"id":"007"`, []string{"DXL_ACCESS_KEY=" + rk.AccessKey, "DXL_RSA_KEY=is.key", "DXL_ALGORITHM=" + alg}, "GET", n.url("/citizens/007"))
	}
	out := mustRun("session_secret", []string{"DXL_ACCESS_KEY=" + rk.AccessKey, "DXL_RSA_KEY=is.key"},
		"POST", "https://"+n.A.Node.APIAddr()+auth.SessionPath)
	var sess auth.Session
	if err := json.Unmarshal([]byte(out), &sess); err != nil {
		t.Fatal(err)
	}
	mustRun(`"id":"008"`, []string{"DXL_ACCESS_KEY=" + sess.SessionKey, "DXL_SECRET_KEY=" + sess.SessionSecret}, "GET", n.url("/citizens/008"))
	t.Run("DocumentedCurl", func(t *testing.T) { runCurlSnippet(t, n, hk) })
}

// runCurlSnippet runs docs/integration.md's curl and openssl example with
// its first two lines (key, secret, host, path, query) set to a real key
// and service.
func runCurlSnippet(t *testing.T, n *testNet, k auth.IssuedAccessKey) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "integration.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- signed-request-curl -->\\s*```sh\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no signed-request-curl example in docs/integration.md")
	}
	lines := strings.SplitN(string(m[1]), "\n", 3)
	script := fmt.Sprintf("AK=%s SK=%s HOST=%s\nP=/r1/%s/citizens/009 Q=fields=all\n%s", k.AccessKey, k.Secret, n.A.Node.APIAddr(), n.Service,
		strings.ReplaceAll(lines[2], "n1/api.pem", n.APICert))
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"id":"009"`) {
		t.Fatalf("documented example: %v\n%s", err, out)
	}
}
