package cli

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// consoleLogin logs into the console at consoleURL over HTTPS (the demo
// CA's certificate is not checked here: the TLS set-up is the API's) and
// returns the dashboard's status and body.
func consoleLogin(t *testing.T, consoleURL, account, password, code string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	res, err := hc.PostForm(consoleURL+"login", url.Values{"account": {account}, "password": {password}, "code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// testConsoleUser runs the console-user commands against the demo's
// registry directory while it runs, and logs in with what they print.
func testConsoleUser(t *testing.T, ctx context.Context, info map[string]string, regDir string) {
	code, err := dxl(ctx, "registry", "console-user", "code", "--secret", info["console_totp_secret"])
	if err != nil || len(strings.TrimSpace(code)) != 6 {
		t.Fatalf("console-user code: %v %q", err, code)
	}
	st, body := consoleLogin(t, info["console_url"], info["console_account"], info["console_password"], strings.TrimSpace(code))
	if st != 200 || !strings.Contains(body, info["pending_request"]) && !strings.Contains(body, "Yêu cầu chờ duyệt") {
		t.Fatalf("demo console login: %d\n%s", st, body)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("Kiểm-toán-viên-2026\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := dxl(ctx, "registry", "console-user", "add", "--dir", regDir, "--name", "kiem", "--role", "approver", "--no-mfa", "--password-file", pw); err == nil ||
		!strings.Contains(err.Error(), "must log in with TOTP") {
		t.Fatalf("approver without MFA: %v", err)
	}
	out, err := dxl(ctx, "registry", "console-user", "add", "--dir", regDir, "--name", "kiem", "--role", "auditor", "--no-mfa", "--password-file", pw, "--json")
	var added consoleAddResult
	if err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	mustJSON(t, out, &added)
	if added.Name != "kiem" || added.Secret != "" {
		t.Fatalf("added %+v", added)
	}
	weak := filepath.Join(t.TempDir(), "weak")
	_ = os.WriteFile(weak, []byte("short1!A\n"), 0o600)
	if _, err := dxl(ctx, "registry", "console-user", "add", "--dir", regDir, "--name", "weak", "--role", "auditor", "--no-mfa", "--password-file", weak); err == nil ||
		!strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("weak password: %v", err)
	}
	out, err = dxl(ctx, "registry", "console-user", "list", "--dir", regDir, "--json")
	if err != nil || !strings.Contains(out, `"kiem"`) || strings.Contains(out, "argon2id") || strings.Contains(out, info["console_totp_secret"]) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if st, _ := consoleLogin(t, info["console_url"], "kiem", "Kiểm-toán-viên-2026", ""); st != 200 {
		t.Fatalf("auditor login: %d", st)
	}
	for _, args := range [][]string{{"unlock", "--dir", regDir, "kiem"}, {"remove", "--dir", regDir, "kiem"}} {
		if out, err := dxl(ctx, append([]string{"registry", "console-user"}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	if st, _ := consoleLogin(t, info["console_url"], "kiem", "Kiểm-toán-viên-2026", ""); st != http.StatusUnauthorized {
		t.Fatalf("removed account's login: %d", st)
	}
}
