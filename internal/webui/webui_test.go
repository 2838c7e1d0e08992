package webui

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// cheap are argon2id parameters for tests: the real ones cost ~100 ms a
// hash, more under -race.
var cheap = HashParams{Time: 1, MemoryKiB: 64, Threads: 1}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestAuth(t *testing.T, cfg Config) (*Auth, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}
	accts := NewAccounts(filepath.Join(t.TempDir(), "console.db"), clk.Now, nil)
	accts.Hash = cheap
	a, err := NewAuth(cfg, accts, []string{"admin", "operator"}, WithClock(clk.Now), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return a, clk
}

const goodPW = "Đúng-mật-khẩu-2026"

func TestPasswordPolicy(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		want string // "" = accepted
	}{
		{goodPW, ""},
		{"Aa1!aaaaaaaa", ""},
		{"Aa1!aaaaaaa", "11 characters"},
		{"aa1!aaaaaaaa", "upper-case"},
		{"AA1!AAAAAAAA", "lower-case"},
		{"Aa!!aaaaaaaa", "a digit"},
		{"Aa11aaaaaaaa", "special"},
		{"Xalice1!xxxxxx", "account name"},
		{"Aa1!aaaa\x01aaaa", "control"},
		{"Aa1!\xffaaaaaaaaa", "UTF-8"},
		{strings.Repeat("Aa1!", 65), "over 256"},
	} {
		err := CheckPassword("alice", tc.pw)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.pw, err)
			}
			continue
		}
		if !errors.Is(err, ErrWeakPassword) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.pw, err, tc.want)
		}
	}
}

func TestArgon2idHash(t *testing.T) {
	h, err := HashPassword(goodPW, cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %s", h)
	}
	if ok, err := VerifyPassword(h, goodPW); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := VerifyPassword(h, goodPW+"x"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	h2, _ := HashPassword(goodPW, cheap)
	if h2 == h {
		t.Fatal("two hashes of one password share a salt")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5"} {
		if ok, err := VerifyPassword(bad, goodPW); ok || !errors.Is(err, ErrBadHash) {
			t.Errorf("%q: %v %v", bad, ok, err)
		}
	}
}

func TestTOTPFixedClock(t *testing.T) {
	// RFC 6238 appendix B, SHA-1: the secret "12345678901234567890".
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	at := time.Unix(59, 0)
	code, err := TOTPCode(secret, at)
	if err != nil || code != "287082" {
		t.Fatalf("code %q %v, want 287082 (RFC 6238: 94287082)", code, err)
	}
	step, ok := checkTOTP(secret, code, at, 0)
	if !ok || step != 1 {
		t.Fatalf("check: %d %v", step, ok)
	}
	if _, ok := checkTOTP(secret, code, at.Add(30*time.Second), 0); !ok {
		t.Fatal("one step of skew refused")
	}
	if _, ok := checkTOTP(secret, code, at.Add(95*time.Second), 0); ok {
		t.Fatal("a code three steps old accepted")
	}
	if _, ok := checkTOTP(secret, code, at, step); ok {
		t.Fatal("a used code accepted again")
	}
	for _, bad := range []string{"", "28708", "2870820", "000000"} {
		if _, ok := checkTOTP(secret, bad, at, 0); ok {
			t.Errorf("code %q accepted", bad)
		}
	}
	enr, err := NewTOTP("DXL registry", "alice", nil)
	if err != nil || len(enr.Secret) != 32 || !strings.HasPrefix(enr.URI, "otpauth://totp/DXL%20registry:alice?") {
		t.Fatalf("enrolment %+v %v", enr, err)
	}
}

func addAccount(t *testing.T, a *Auth, name, role string, mfa bool) Enrolment {
	t.Helper()
	enr, err := a.Accounts().Add(NewAccount{Name: name, Role: role, Password: goodPW, MFA: mfa, Issuer: "DXL", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return enr
}

func TestLoginAndReplay(t *testing.T) {
	a, clk := newTestAuth(t, Config{})
	enr := addAccount(t, a, "alice", "admin", true)
	code, _ := TOTPCode(enr.Secret, clk.Now())
	if _, _, err := a.Login("alice", goodPW, "", "test"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("no code: %v", err)
	}
	s, token, err := a.Login("alice", goodPW, code, "test")
	if err != nil || s.Account != "alice" || s.Role != "admin" || token == "" || s.FormToken == "" {
		t.Fatalf("login: %+v %v", s, err)
	}
	if _, _, err := a.Login("alice", goodPW, code, "test"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("the same code again: %v", err)
	}
	if _, _, err := a.Login("nobody", goodPW, code, "test"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown account: %v", err)
	}
	// A role that changes state cannot log in without a second factor.
	addAccount(t, a, "bob", "operator", false)
	if _, _, err := a.Login("bob", goodPW, "", "test"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("operator without MFA: %v", err)
	}
	addAccount(t, a, "carol", "auditor", false)
	if _, _, err := a.Login("carol", goodPW, "", "test"); err != nil {
		t.Fatalf("auditor without MFA: %v", err)
	}
	if _, err := a.Accounts().Add(NewAccount{Name: "alice", Role: "admin", Password: goodPW}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := a.Accounts().Add(NewAccount{Name: "Dave!", Role: "admin", Password: goodPW}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad name: %v", err)
	}
	list, err := a.Accounts().List()
	if err != nil || len(list) != 3 || list[0].Name != "alice" || !list[0].MFA {
		t.Fatalf("list %+v %v", list, err)
	}
}

func TestLockoutBackoff(t *testing.T) {
	a, clk := newTestAuth(t, Config{MaxFailures: 3, LockoutBase: Duration(time.Minute), LockoutMax: Duration(4 * time.Minute)})
	addAccount(t, a, "carol", "auditor", false)
	for i := 0; i < 3; i++ {
		if _, _, err := a.Login("carol", "wrong", "", "test"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Locked: even the right password is refused, and says until when.
	_, _, err := a.Login("carol", goodPW, "", "test")
	var le *LockedError
	if !errors.As(err, &le) || !le.Until.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("locked: %v", err)
	}
	clk.Add(61 * time.Second)
	if _, _, err := a.Login("carol", "wrong", "", "test"); !errors.Is(err, ErrBadCredentials) {
		t.Fatal(err)
	}
	if acct, _ := a.Accounts().Get("carol"); !acct.LockedUntil.Equal(clk.Now().Add(2 * time.Minute)) {
		t.Fatalf("second lockout until %v, want doubled", acct.LockedUntil)
	}
	for i := 0; i < 3; i++ {
		clk.Add(5 * time.Minute)
		_, _, _ = a.Login("carol", "wrong", "", "test")
	}
	if acct, _ := a.Accounts().Get("carol"); !acct.LockedUntil.Equal(clk.Now().Add(4 * time.Minute)) {
		t.Fatalf("lockout until %v, want capped at 4m", acct.LockedUntil)
	}
	clk.Add(5 * time.Minute)
	if _, _, err := a.Login("carol", goodPW, "", "test"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	if acct, _ := a.Accounts().Get("carol"); acct.Failures != 0 || !acct.LockedUntil.IsZero() {
		t.Fatalf("a success keeps %d failures", acct.Failures)
	}
}

func TestSessionExpiry(t *testing.T) {
	a, clk := newTestAuth(t, Config{IdleTimeout: Duration(10 * time.Minute), AbsoluteTimeout: Duration(time.Hour)})
	addAccount(t, a, "carol", "auditor", false)
	_, token, err := a.Login("carol", goodPW, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // used every 9 minutes: stays alive
		clk.Add(9 * time.Minute)
		if _, err := a.Session(token); err != nil {
			t.Fatalf("after %d uses: %v", i, err)
		}
	}
	clk.Add(10 * time.Minute)
	if _, err := a.Session(token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("idle: %v", err)
	}
	_, token, _ = a.Login("carol", goodPW, "", "test")
	for i := 0; i < 7; i++ {
		clk.Add(9*time.Minute + 59*time.Second)
		_, err = a.Session(token)
	}
	if !errors.Is(err, ErrNoSession) {
		t.Fatalf("past the absolute timeout: %v", err)
	}
	// A removed account's session ends; a changed role applies at once.
	_, token, _ = a.Login("carol", goodPW, "", "test")
	_ = a.Accounts().Modify("carol", func(ac *Account) error { ac.Role = "nobody"; return nil })
	if s, err := a.Session(token); err != nil || s.Role != "nobody" {
		t.Fatalf("changed role: %+v %v", s, err)
	}
	_ = a.Accounts().Remove("carol")
	if _, err := a.Session(token); !errors.Is(err, ErrNoSession) {
		t.Fatalf("removed account: %v", err)
	}
	if _, err := a.Session("forged"); !errors.Is(err, ErrNoSession) {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{IdleTimeout: Duration(time.Second)}, {IdleTimeout: Duration(time.Hour), AbsoluteTimeout: Duration(time.Minute * 30)},
		{MaxFailures: 100}, {LockoutBase: Duration(time.Hour), LockoutMax: Duration(time.Minute)}, {MaxSessions: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestSecureHeadersAndCrossOrigin(t *testing.T) {
	reached := 0
	h := Secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }))
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := srv.Client()
	res, err := c.Get(srv.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	if csp != ContentSecurityPolicy || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", res.Header)
	}
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, 200},
		{"cross site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"other origin", map[string]string{"Origin": "https://evil.example"}, 403},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/console/x", strings.NewReader("a=b"))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, res.StatusCode, tc.want)
		}
	}
	if reached != 2 {
		t.Fatalf("handler reached %d times, want 2 (the GET and the same-origin POST)", reached)
	}
}

func TestFormToken(t *testing.T) {
	s := &Session{FormToken: "tok"}
	for _, tc := range []struct {
		body string
		ok   bool
	}{{"form_token=tok", true}, {"form_token=other", false}, {"", false}} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, err := ReadForm(httptest.NewRecorder(), r, FormTokenField); err != nil {
			t.Fatal(err)
		}
		if err := CheckFormToken(r, s); (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.body, err)
		}
	}
}

func TestDecodeForm(t *testing.T) {
	f, err := DecodeForm([]byte("reason=Thi%E1%BA%BFu+h%E1%BB%93+s%C6%A1&form_token=x"), "reason", "form_token")
	if err != nil || f["reason"] != "Thiếu hồ sơ" {
		t.Fatalf("%v %v", f, err)
	}
	for _, bad := range []string{"reason=a&reason=b", "other=1", "reason=%zz", "reason=a%00b", strings.Repeat("a", MaxFormBytes+1)} {
		if _, err := DecodeForm([]byte(bad), "reason"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%.40q: %v", bad, err)
		}
	}
}

func FuzzDecodeForm(f *testing.F) {
	f.Add([]byte("account=alice&password=x&code=123456"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := DecodeForm(body, "account", "password", "code")
		if err != nil {
			return
		}
		for k, v := range m {
			if k != "account" && k != "password" && k != "code" || len(v) > MaxFieldLen {
				t.Fatalf("field %q (%d bytes) let through", k, len(v))
			}
		}
	})
}

func TestI18n(t *testing.T) {
	if got := Shared.T(LangVi, "login.title"); got != "Đăng nhập" {
		t.Fatal(got)
	}
	if got := Shared.T(LangEn, "signed_in_as", "alice", "admin"); got != "Signed in as alice (role: admin)" {
		t.Fatal(got)
	}
	if FormatInt(LangVi, 1234567) != "1.234.567" || FormatInt(LangEn, -1234) != "-1,234" || FormatInt(LangEn, 12) != "12" {
		t.Fatal(FormatInt(LangVi, 1234567), FormatInt(LangEn, -1234))
	}
	at := time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)
	if FormatTime(LangVi, at) != "03:30:00 02/12/2026 (GMT+7)" || FormatTime(LangEn, at) != "2026-12-01 20:30:00 UTC" {
		t.Fatal(FormatTime(LangVi, at), FormatTime(LangEn, at))
	}
	for k, v := range Shared {
		if v[0] == "" || v[1] == "" {
			t.Errorf("message %s lacks a language", k)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	if RequestLang(r, nil) != LangVi {
		t.Fatal("default is not Vietnamese")
	}
	r.AddCookie(&http.Cookie{Name: LangCookie, Value: "en"})
	if RequestLang(r, nil) != LangEn || RequestLang(r, &Session{Lang: "vi"}) != LangVi {
		t.Fatal("cookie or account language ignored")
	}
}

func TestRendererPages(t *testing.T) {
	r, err := NewRenderer(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r.Render(w, 200, "login", &Page{Lang: LangVi, Title: "login.title", App: "login.title", Base: "/console/", Cat: Shared})
	body := w.Body.String()
	for _, want := range []string{`<html lang="vi">`, `<label for="password">Mật khẩu</label>`, `autocomplete="one-time-code"`} {
		if !strings.Contains(body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("login page has script or inline style")
	}
}
