package console_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/browsertest"

	"github.com/chromedp/chromedp"

	"github.com/dxl-network/dxl/internal/webui"
)

// TestBrowserNodeAccess drives headless Chromium through node B's
// console: login with password and TOTP, grant A's information system the
// REST service (a call is then served, node.json and the audit log name
// the account), revoke it (the call is refused again), the records page
// and its CSV download, every page checked with axe-core in Vietnamese and
// English.
func TestBrowserNodeAccess(t *testing.T) {
	exe := browsertest.Chromium(t)
	e := newEnv(t) // not parallel: it changes B's access rights
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bctx := browsertest.New(t, ctx, exe, "vi-VN")
	run := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	run("open the login page", chromedp.Navigate(e.url), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	browsertest.Measure(bctx, t, "login (vi)")
	browsertest.CheckA11y(bctx, t, "login (vi)")
	code, err := webui.TOTPCode(e.secrets["bao"], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run("log in", chromedp.SendKeys(chromedp.CSS("#account"), "bao"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#health")))
	browsertest.Measure(bctx, t, "dashboard (vi)")
	browsertest.CheckA11y(bctx, t, "dashboard (vi)")

	run("open access rights", chromedp.Navigate(e.url+"access"), chromedp.WaitVisible(chromedp.CSS("#grant-form")))
	browsertest.CheckA11y(bctx, t, "access (vi)")
	run("grant", chromedp.SendKeys(chromedp.CSS("#subject"), e.d.ClientA), chromedp.SetValue(chromedp.CSS("#service"), e.d.Service),
		chromedp.Click(chromedp.CSS("#grant-submit")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	browsertest.Measure(bctx, t, "access after grant")
	browsertest.Shot(bctx, t, "node-console-access-vi")
	if st := e.call(t, "/citizens/001"); st != http.StatusOK {
		t.Fatalf("call after the browser's grant: %d", st)
	}
	if rs := e.rules(t); len(rs) != 2 || rs[1].Subject != e.d.ClientA || !strings.Contains(e.auditText(t), `"actor":"console:bao","action":"access.grant"`) {
		t.Fatalf("after the grant: rules %+v, audit\n%s", rs, e.auditText(t))
	}
	if _, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("#revoke-1"))); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if s := text(".notice"); !strings.Contains(s, "Đã thu hồi quyền") {
		t.Fatalf("notice after the revoke: %q", s)
	}
	if st := e.call(t, "/citizens/002"); st != http.StatusForbidden {
		t.Fatalf("call after the browser's revoke: %d", st)
	}
	if !strings.Contains(e.auditText(t), `"actor":"console:bao","action":"access.revoke"`) {
		t.Fatal("the audit log does not name console:bao for the revoke")
	}

	run("records", chromedp.Navigate(e.url+"records?status=403"), chromedp.WaitVisible(chromedp.CSS("#records")))
	browsertest.Measure(bctx, t, "records (vi)")
	browsertest.CheckA11y(bctx, t, "records (vi)")
	if s := text("#records"); !strings.Contains(s, "access_denied") {
		t.Fatalf("records table: %s", s)
	}
	csvLink(t, bctx, e)

	run("switch to English", chromedp.SetValue(chromedp.CSS("#lang-select"), "en"), chromedp.Click(chromedp.CSS("#lang-apply")),
		chromedp.WaitVisible(`//h1[text()="Operational records"]`))
	for _, p := range []struct{ path, sel string }{{"", "#health"}, {"services", "#services"}, {"access", "#grant-form"}, {"credentials", "#credential-form"},
		{"records?status=403", "#records"}, {"stats", "#chart-calls"}, {"evidence", "#evidence-form"}, {"reconcile", "#reconcile-form"},
		{"queues", "main"}, {"audit", "#audit"}} {
		run("open "+p.path, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		browsertest.Measure(bctx, t, "/"+p.path+" (en)")
		if p.path == "" || p.path == "stats" {
			browsertest.Shot(bctx, t, "node-console-"+map[string]string{"": "health", "stats": "stats"}[p.path]+"-en")
		}
		browsertest.CheckA11y(bctx, t, "/"+p.path+" (en)")
	}
	if lang, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "en" || !strings.Contains(text("nav"), "Access rights") {
		t.Fatalf("English page: lang %q, nav %q", lang, text("nav"))
	}
}

// csvLink follows the records page's CSV link with the browser's session
// (read from the browser through DevTools: the cookie is HttpOnly) and
// checks the file.
func csvLink(t *testing.T, bctx context.Context, e *env) {
	t.Helper()
	href, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS("#download-csv"), "href"))
	if err != nil || !href.Exists {
		t.Fatalf("no CSV link: %v", err)
	}
	var res struct {
		Cookies []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"cookies"`
	}
	if err := chromedp.Do(bctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		return tg.Call(ctx, "Network.getCookies", map[string]any{"urls": []string{e.url}}, &res)
	})); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", strings.TrimSuffix(e.url, "/console/")+href.Value, nil)
	if len(res.Cookies) == 0 {
		t.Fatal("the browser holds no cookie of the console")
	}
	for _, c := range res.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: e.roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(body), "access_denied") {
		t.Fatalf("CSV download %s: %d %v\n%s", href.Value, resp.StatusCode, resp.Header, body)
	}
}
