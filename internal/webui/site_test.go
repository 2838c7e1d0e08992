package webui

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestSiteGuards: Site.Get and Site.Post let a request reach the page only
// with a live session, and a post only with its form, its form token and a
// role allowed; every refusal renders the error page and calls nothing.
func TestSiteGuards(t *testing.T) {
	a, _ := newTestAuth(t, Config{})
	for _, u := range []struct{ name, role string }{{"viewer", "viewer"}, {"boss", "boss"}} {
		if _, err := a.Accounts().Add(NewAccount{Name: u.name, Role: u.role, Password: goodPW}); err != nil {
			t.Fatal(err)
		}
	}
	pages, err := NewRenderer(nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st := &Site{Auth: a, Pages: pages, Prefix: "/c/", Log: slog.New(slog.DiscardHandler),
		Cat:    Shared.With(Catalog{"app": {"Ứng dụng", "App"}, "role.viewer": {"xem", "viewer"}, "role.boss": {"chủ", "boss"}}),
		Allows: func(role, need string) bool { return role == "boss" || need == "viewer" }}
	calls := 0
	m := http.NewServeMux()
	st.Routes(m)
	m.HandleFunc("GET /c/{$}", st.Get("", func(w http.ResponseWriter, r *http.Request, s *Session) { _, _ = w.Write([]byte(s.FormToken)) }))
	m.HandleFunc("POST /c/do", st.Post("boss", func(w http.ResponseWriter, r *http.Request, s *Session) { calls++ }, "x"))
	h := Secure(m)
	login := func(name string) (*http.Cookie, string) {
		f := url.Values{"account": {name}, "password": {goodPW}}
		req := httptest.NewRequest("POST", "/c/login", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) == 0 {
			t.Fatalf("login %s: %d %s", name, rec.Code, rec.Body)
		}
		c := rec.Result().Cookies()[0]
		req = httptest.NewRequest("GET", "/c/", nil)
		req.AddCookie(c)
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return c, rec.Body.String()
	}
	post := func(c *http.Cookie, form url.Values, hdr ...string) int {
		req := httptest.NewRequest("POST", "/c/do", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		if c != nil {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	vc, vtok := login("viewer")
	bc, btok := login("boss")
	for _, tc := range []struct {
		name   string
		c      *http.Cookie
		form   url.Values
		hdr    []string
		status int
	}{
		{"no session", nil, url.Values{FormTokenField: {btok}}, nil, http.StatusUnauthorized},
		{"no token", bc, url.Values{"x": {"1"}}, nil, http.StatusForbidden},
		{"another session's token", bc, url.Values{FormTokenField: {vtok}}, nil, http.StatusForbidden},
		{"unexpected field", bc, url.Values{FormTokenField: {btok}, "y": {"1"}}, nil, http.StatusBadRequest},
		{"cross-site", bc, url.Values{FormTokenField: {btok}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"role", vc, url.Values{FormTokenField: {vtok}}, nil, http.StatusForbidden},
	} {
		if got := post(tc.c, tc.form, tc.hdr...); got != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.status)
		}
	}
	if calls != 0 {
		t.Fatalf("a refused post reached the handler %d times", calls)
	}
	if got := post(bc, url.Values{FormTokenField: {btok}, "x": {"1"}}); got != http.StatusOK || calls != 1 {
		t.Fatalf("allowed post: %d, %d calls", got, calls)
	}
	req := httptest.NewRequest("GET", "/c/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/c/login") {
		t.Fatalf("page without a session: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}
