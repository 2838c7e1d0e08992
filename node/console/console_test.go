package console_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/console"
	"github.com/dxl-network/dxl/services"
)

const password = "Mật-khẩu-Thử-2026!"

// cheap keeps the tests' argon2id hashes fast.
var cheap = webui.HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

// env is a demo network whose provider node B has a console with
// accounts, and grants A's information system the SOAP service only.
type env struct {
	d       *devnet.Demo
	url     string // B's console
	secrets map[string]string
	roots   *x509.CertPool
	ctx     context.Context
}

var (
	shared     *env
	sharedErr  error
	sharedOnce sync.Once
	closers    []func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, c := range closers {
		c()
	}
	os.Exit(code)
}

// accounts of the shared network: name, role (auditors have no TOTP).
var accounts = []struct{ name, role string }{
	{"ada", console.RoleAdministrator}, {"sam", console.RoleServiceManager}, {"tuan", console.RoleServiceManager}, {"kiem", console.RoleAuditor},
	{"son", console.RoleServiceManager}, {"bao", console.RoleAdministrator}, {"khoa", console.RoleAuditor},
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	sharedOnce.Do(func() { shared, sharedErr = startEnv() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

func startEnv() (*env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	closers = append(closers, cancel)
	dir, err := os.MkdirTemp("", "dxl-node-console-test-")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { os.RemoveAll(dir) })
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: dir, FastRaft: true, Logger: slog.New(slog.DiscardHandler),
		ConfigInterval: 300 * time.Millisecond},
		ConfigureB: func(c *node.Config) {
			c.Access = services.AccessConfig{Rules: []services.Rule{c.Access.Rules[1]}}
		}})
	if err != nil {
		return nil, err
	}
	closers = append([]func(){d.Close}, closers...)
	e := &env{d: d, url: d.B.Node.ConsoleURL(), secrets: map[string]string{}, roots: x509.NewCertPool(), ctx: ctx}
	raw, err := os.ReadFile(d.APICertB)
	if err != nil {
		return nil, err
	}
	e.roots.AppendCertsFromPEM(raw)
	accts := node.ConsoleAccounts(d.B.Dir)
	accts.Hash = cheap
	for _, a := range accounts {
		enr, err := accts.Add(webui.NewAccount{Name: a.name, Role: a.role, Password: password, MFA: a.role != console.RoleAuditor, Issuer: "DXL", CreatedBy: "test"})
		if err != nil {
			return nil, err
		}
		e.secrets[a.name] = enr.Secret
	}
	return e, nil
}

// browser is a cookie-keeping HTTPS client that does not follow redirects.
type browser struct {
	t  *testing.T
	hc *http.Client
	e  *env
}

func (e *env) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(hc.CloseIdleConnections)
	return &browser{t: t, hc: hc, e: e}
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(b.e.url, "/console/")+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), res.Header
}

func code(t *testing.T, secret string, ahead int) string {
	c, err := webui.TOTPCode(secret, time.Now().Add(time.Duration(ahead)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// login logs in as name and returns the session's form token.
func (b *browser) login(name string) string {
	b.t.Helper()
	f := url.Values{"account": {name}, "password": {password}}
	if s := b.e.secrets[name]; s != "" {
		f.Set("code", code(b.t, s, 0))
	}
	if st, body, _ := b.do("POST", "/console/login", f); st != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d\n%s", name, st, body)
	}
	_, page, _ := b.do("GET", "/console/", nil)
	m := regexp.MustCompile(`name="form_token" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no form token on the dashboard:\n%s", page)
	}
	return m[1]
}

// call makes A's information system call the sample REST service at B.
func (e *env) call(t *testing.T, path string) int {
	t.Helper()
	pool := x509.NewCertPool()
	raw, err := os.ReadFile(e.d.APICert)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(raw)
	cert, err := tls.LoadX509KeyPair(e.d.ISCert, e.d.ISKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}}}
	defer hc.CloseIdleConnections()
	res, err := hc.Get("https://" + e.d.A.Node.APIAddr() + "/r1/" + e.d.Service + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode
}

// rules returns B's access rules as node.json holds them on disk.
func (e *env) rules(t *testing.T) []services.Rule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(e.d.B.Dir, node.FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	c, err := node.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c.Access.Rules
}

// auditText is B's admin audit log, exported.
func (e *env) auditText(t *testing.T) string {
	t.Helper()
	var sb strings.Builder
	if err := e.d.B.Node.Audit().Export(&sb); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
