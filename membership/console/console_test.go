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
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/console"
	"github.com/dxl-network/dxl/membership/state"
)

const password = "Mật-khẩu-Thử-2026!"

// cheap keeps the tests' argon2id hashes fast (the real cost is ~100 ms).
var cheap = webui.HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

// env is a devnet registry with a console, three accounts and one pending
// registration submitted from a node directory.
type env struct {
	nw      *devnet.Network
	url     string // the console's
	secrets map[string]string
	request string
	roots   *x509.CertPool
}

var agencyC = devnet.AgencyC

// shared is the network the tests share: each acts on its own accounts,
// only TestConsoleApproveOnePath decides the pending registration.
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

func newEnv(t *testing.T) *env {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = startEnv() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// accounts of the shared network: name, role (auditors have no TOTP).
var accounts = []struct{ name, role string }{
	{"ada", console.RoleAdministrator}, {"anh", console.RoleApprover}, {"kiem", console.RoleAuditor},
	{"khoa", console.RoleAuditor}, {"lan", console.RoleAuditor}, {"minh", console.RoleApprover}, {"ngoc", console.RoleAuditor},
	{"bao", console.RoleAdministrator}, // the browser test's
	{"phuc", console.RoleApprover},
	{"quan", console.RoleApprover}, {"sang", console.RoleAdministrator}, {"tam", console.RoleAuditor}, // TestConsoleWrites
	{"thu", console.RoleAuditor}, // TestConsoleCatalogueSchemas
}

func startEnv() (*env, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "dxl-console-test-")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { os.RemoveAll(dir) })
	nw, err := devnet.Start(ctx, devnet.Options{Dir: dir, FastRaft: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	closers = append([]func(){nw.Close}, closers...)
	e := &env{nw: nw, url: nw.Registry.ConsoleURL(), secrets: map[string]string{}, roots: x509.NewCertPool()}
	for _, r := range nw.Anchor.Roots {
		e.roots.AddCert(r)
	}
	accts := membership.ConsoleAccounts(filepath.Join(dir, "registry"))
	accts.Hash = cheap
	for _, a := range accounts {
		enr, err := accts.Add(webui.NewAccount{Name: a.name, Role: a.role, Password: password, MFA: a.role != console.RoleAuditor, Issuer: "DXL", CreatedBy: "test"})
		if err != nil {
			return nil, err
		}
		e.secrets[a.name] = enr.Secret
	}
	if e.request, err = nw.Submit(ctx, agencyC); err != nil {
		return nil, err
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
	hc := &http.Client{Jar: jar, Timeout: 20 * time.Second,
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

// lastHistory is the newest history entry about target (the tests share
// one registry: another test's write may come after).
func (e *env) lastHistory(target string) (last state.HistoryEntry) {
	e.nw.Registry.Server().Read(func(st *state.State) {
		for i := len(st.History) - 1; i >= 0; i-- {
			if st.History[i].Target == target {
				last = st.History[i]
				return
			}
		}
	})
	return last
}

func (e *env) pendingRequest(t *testing.T) state.Request {
	req, err := e.nw.Registry.Server().Request(e.request)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestConsoleLoginAndHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	st, body, h := b.do("GET", "/console/", nil)
	if st != http.StatusSeeOther || h.Get("Location") != "/console/login" {
		t.Fatalf("dashboard without a session: %d %s", st, h.Get("Location"))
	}
	st, body, h = b.do("GET", "/console/login", nil)
	if st != 200 || h.Get("Content-Security-Policy") != webui.ContentSecurityPolicy || !strings.Contains(body, `<html lang="vi">`) ||
		!strings.Contains(body, "Mật khẩu") || strings.Contains(body, "<script") {
		t.Fatalf("login page %d %v\n%s", st, h, body)
	}
	// A wrong code, then the password alone, are refused alike.
	for _, f := range []url.Values{{"account": {"ada"}, "password": {password}, "code": {"000000"}}, {"account": {"ada"}, "password": {password}}} {
		if st, body, _ := b.do("POST", "/console/login", f); st != http.StatusUnauthorized || !strings.Contains(body, "Sai tên tài khoản, mật khẩu hoặc mã xác thực.") {
			t.Fatalf("bad login: %d\n%s", st, body)
		}
	}
	// A login form with an unexpected field is refused before any check.
	if st, _, _ := b.do("POST", "/console/login", url.Values{"account": {"ada"}, "admin": {"1"}}); st != http.StatusBadRequest {
		t.Fatalf("extra field: %d", st)
	}
	b.login("ada")
	var cookie *http.Cookie
	u, _ := url.Parse(e.url)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == webui.CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	st, body, _ = b.do("GET", "/console/", nil)
	if st != 200 || !strings.Contains(body, "Yêu cầu chờ duyệt") || !strings.Contains(body, `id="tile-pending">`) {
		t.Fatalf("dashboard %d\n%s", st, body)
	}
	// The API itself is still there, and still wants a token.
	if st, _, _ := b.do("GET", "/v1/admin/members", nil); st != http.StatusUnauthorized {
		t.Fatalf("admin API with a console cookie: %d", st)
	}
}

func TestConsoleApproveOnePath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	aud := e.browser(t)
	audTok := aud.login("kiem")
	path := "/console/registrations/" + e.request
	st, body, _ := aud.do("GET", path, nil)
	if st != 200 || !strings.Contains(body, agencyC.Name) || !strings.Contains(body, "Nguyen Van A") || !strings.Contains(body, "QD-1/2026") {
		t.Fatalf("registration page %d\n%s", st, body)
	}
	// The auditor's approve is refused by the API's own role check.
	st, body, _ = aud.do("POST", path+"/approve", url.Values{"form_token": {audTok}})
	if st != http.StatusForbidden || !strings.Contains(body, "không có quyền") {
		t.Fatalf("auditor approve: %d\n%s", st, body)
	}
	if q := e.pendingRequest(t); q.Status != state.RequestPending {
		t.Fatalf("after the auditor: %s", q.Status)
	}
	ap := e.browser(t)
	tok := ap.login("anh")
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no form token", url.Values{}, nil},
		{"another session's token", url.Values{"form_token": {audTok}}, nil},
		{"cross-site", url.Values{"form_token": {tok}}, []string{"Sec-Fetch-Site", "cross-site"}},
		{"other origin", url.Values{"form_token": {tok}}, []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}},
	} {
		if st, body, _ := ap.do("POST", path+"/approve", tc.form, tc.hdr...); st != http.StatusForbidden {
			t.Errorf("%s: %d\n%s", tc.name, st, body)
		}
	}
	if q := e.pendingRequest(t); q.Status != state.RequestPending {
		t.Fatalf("after refused posts: %s", q.Status)
	}
	// Reject without a reason: a field message, nothing changed.
	st, body, _ = ap.do("POST", path+"/reject", url.Values{"form_token": {tok}, "reason": {"  "}})
	if st != http.StatusBadRequest || !strings.Contains(body, `id="reason-error"`) {
		t.Fatalf("reject without a reason: %d\n%s", st, body)
	}
	st, _, h := ap.do("POST", path+"/approve", url.Values{"form_token": {tok}})
	if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done=approved") {
		t.Fatalf("approve: %d %v", st, h)
	}
	q := e.pendingRequest(t)
	if q.Status != state.RequestApproved || q.DecidedBy != console.ActorPrefix+"anh" {
		t.Fatalf("request %s decided by %q", q.Status, q.DecidedBy)
	}
	if last := e.lastHistory(q.ID); last.Actor != "console:anh" || last.Action != "approve_registration" {
		t.Fatalf("history %+v", last)
	}
	_, body, _ = ap.do("GET", "/console/history?q=console:anh", nil)
	if !strings.Contains(body, "approve_registration") || !strings.Contains(body, `id="chain-ok"`) {
		t.Fatalf("history page\n%s", body)
	}
	// Approving twice is the API's refusal, shown with its code.
	st, body, _ = ap.do("POST", path+"/approve", url.Values{"form_token": {tok}})
	if st != http.StatusConflict || !strings.Contains(body, "illegal_transition") {
		t.Fatalf("second approve: %d\n%s", st, body)
	}
	_, body, _ = ap.do("GET", "/console/members/"+e.nw.Member(agencyC), nil)
	if !strings.Contains(body, `id="member-status">Đang hoạt động`) {
		t.Fatalf("member page\n%s", body)
	}
}

func TestConsoleLanguageAndLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	if st, _, h := b.do("POST", "/console/lang", url.Values{"lang": {"en"}, "return": {"//evil.example/"}}); st != http.StatusSeeOther || h.Get("Location") != "/console/" {
		t.Fatalf("language switch: %d %s", st, h.Get("Location"))
	}
	_, body, _ := b.do("GET", "/console/login", nil)
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "Password") {
		t.Fatalf("English login page\n%s", body)
	}
	tok := b.login("khoa")
	_, body, _ = b.do("GET", "/console/", nil)
	if !strings.Contains(body, "Pending registrations") {
		t.Fatalf("English dashboard\n%s", body)
	}
	if st, body, _ := b.do("GET", "/console/catalogue", nil); st != 200 || !strings.Contains(body, "Service catalogue") || !strings.Contains(body, `id="policy"`) {
		t.Fatalf("catalogue page %d\n%s", st, body)
	}
	// Switching back is stored with the account.
	b.do("POST", "/console/lang", url.Values{"lang": {"vi"}, "return": {"/console/members"}, "form_token": {tok}})
	if a, _ := membership.ConsoleAccounts(filepath.Join(e.nw.Dir, "registry")).Get("khoa"); a.Lang != "vi" {
		t.Fatalf("stored language %q", a.Lang)
	}
	if st, _, h := b.do("POST", "/console/logout", url.Values{"form_token": {tok}}); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "m=out") {
		t.Fatalf("logout: %d", st)
	}
	if st, _, _ := b.do("GET", "/console/members", nil); st != http.StatusSeeOther {
		t.Fatalf("after logout: %d", st)
	}
}

// TestConsoleLockout: five wrong passwords lock the account; the right
// password and code are then refused too, with the time the lockout ends.
func TestConsoleLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	for i := 0; i < 5; i++ {
		if st, _, _ := b.do("POST", "/console/login", url.Values{"account": {"minh"}, "password": {"Sai-mật-khẩu-1"}, "code": {"123456"}}); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	st, body, _ := b.do("POST", "/console/login", url.Values{"account": {"minh"}, "password": {password}, "code": {code(t, e.secrets["minh"], 0)}})
	if st != http.StatusTooManyRequests || !strings.Contains(body, "tạm khóa") {
		t.Fatalf("locked account: %d\n%s", st, body)
	}
}

// TestConsoleSuspendReactivate: an approver suspends and reactivates a
// member through the API's handlers; an auditor's suspend is refused 403.
func TestConsoleSuspendReactivate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reqF, err := e.nw.Submit(ctx, devnet.Agency{Code: "000.00.00.F01", Name: "So Tai chinh (agency F)", Subsystem: "TAICHINH"})
	if err != nil {
		t.Fatal(err)
	}
	member := e.nw.Member(devnet.Agency{Code: "000.00.00.F01"})
	b := e.browser(t)
	tok := b.login("phuc")
	if st, body, _ := b.do("POST", "/console/registrations/"+reqF+"/approve", url.Values{"form_token": {tok}}); st != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", st, body)
	}
	aud := e.browser(t)
	audTok := aud.login("lan")
	if st, _, _ := aud.do("POST", "/console/member-suspend", url.Values{"form_token": {audTok}, "member": {member}, "reason": {"kiểm tra"}}); st != http.StatusForbidden {
		t.Fatalf("auditor suspend: %d", st)
	}
	if st, _, _ := b.do("POST", "/console/member-suspend", url.Values{"form_token": {tok}, "member": {member}, "reason": {""}}); st != http.StatusBadRequest {
		t.Fatalf("suspend without a reason: %d", st)
	}
	status := func() string {
		m, err := e.nw.Registry.Server().Member(member)
		if err != nil {
			t.Fatal(err)
		}
		return string(m.Status)
	}
	if s := status(); s != "active" {
		t.Fatalf("after refusals: %s", s)
	}
	for _, step := range []struct{ action, want string }{{"suspend", "suspended"}, {"reactivate", "active"}} {
		st, _, h := b.do("POST", "/console/member-"+step.action, url.Values{"form_token": {tok}, "member": {member}, "reason": {"Thanh tra định kỳ"}})
		if st != http.StatusSeeOther || !strings.HasSuffix(h.Get("Location"), "?done="+step.action) || status() != step.want {
			t.Fatalf("%s: %d %s, member %s", step.action, st, h.Get("Location"), status())
		}
	}
	if last := e.lastHistory(member); last.Actor != "console:phuc" || last.Action != "reactivate_member" {
		t.Fatalf("history %+v", last)
	}
	if _, body, _ := b.do("GET", "/console/members/"+member+"?done=reactivate", nil); !strings.Contains(body, `id="member-suspend"`) {
		t.Fatalf("member page lacks the suspend form\n%s", body)
	}
}
