package console_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dxl-network/dxl/internal/webui"
)

// chromium finds the browser. Without it the test fails (CI installs
// Debian's chromium, .ci/run) unless DXL_SKIP_BROWSER is set; -short
// skips it.
func chromium(t *testing.T) string {
	if testing.Short() {
		t.Skip("browser test: skipped under -short (needs chromium; run without -short)")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("DXL_SKIP_BROWSER") != "" {
		t.Skip("browser test: no chromium and DXL_SKIP_BROWSER is set")
	}
	t.Fatal("browser test: chromium not found (apt-get install chromium, or set DXL_SKIP_BROWSER=1 to skip)")
	return ""
}

// shot saves the page as DXL_CONSOLE_SCREENSHOTS/name.png when that is set
// (docs/console.md's pictures are made so).
func shot(ctx context.Context, t *testing.T, name string) {
	dir := os.Getenv("DXL_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	img, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644)
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

type pageTiming struct {
	FCP     float64 `json:"fcp"`
	LCP     float64 `json:"lcp"`
	Request float64 `json:"request"`
	Slowest float64 `json:"slowest"`
}

// timingJS is the registry console's browser test's (R-T4 figures).
const timingJS = `new Promise(resolve => {
  const nav = performance.getEntriesByType('navigation')[0] || {};
  const fcp = (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0;
  const req = (nav.responseEnd || 0) - (nav.requestStart || 0);
  const slowest = Math.max(req, ...performance.getEntriesByType('resource').map(e => e.responseEnd - e.requestStart));
  let lcp = 0;
  try {
    new PerformanceObserver(l => { const e = l.getEntries(); if (e.length) lcp = e[e.length-1].startTime; })
      .observe({type: 'largest-contentful-paint', buffered: true});
  } catch (e) {}
  setTimeout(() => resolve({fcp, lcp, request: req, slowest}), 150);
})`

func measure(ctx context.Context, t *testing.T, page string) {
	tm, err := chromedp.Run(ctx, chromedp.Evaluate[pageTiming](timingJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Logf("timing of %s: %v", page, err)
		return
	}
	t.Logf("R-T4 %-22s first contentful paint %6.1f ms, largest contentful paint %6.1f ms, document request %5.1f ms, slowest request %5.1f ms",
		page, tm.FCP, tm.LCP, tm.Request, tm.Slowest)
}

type axeResult struct {
	Passes     int `json:"passes"`
	Violations []struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  int    `json:"nodes"`
	} `json:"violations"`
}

const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
  .then(r => ({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.length}))}))`

// checkA11y runs axe-core (the registry console's vendored copy, injected
// through DevTools: the page's CSP allows no script) and fails on a
// serious or critical violation.
func checkA11y(ctx context.Context, t *testing.T, page string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "membership", "console", "testdata", "axe", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](string(src)+";true")); err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[axeResult](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	if res.Passes == 0 {
		t.Fatalf("axe on %s checked nothing", page)
	}
	t.Logf("axe on %-18s %d rules passed, %d violated", page, res.Passes, len(res.Violations))
	for _, v := range res.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe on %s: %s violation %s (%s), %d elements", page, v.Impact, v.ID, v.Help, v.Nodes)
		} else {
			t.Logf("axe on %s: %s %s (%s), %d elements", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// TestBrowserNodeAccess drives headless Chromium through node B's
// console: login with password and TOTP, grant A's information system the
// REST service (a call is then served, node.json and the audit log name
// the account), revoke it (the call is refused again), the records page
// and its CSV download, every page checked with axe-core in Vietnamese and
// English.
func TestBrowserNodeAccess(t *testing.T) {
	exe := chromium(t)
	e := newEnv(t) // not parallel: it changes B's access rights
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("lang", "vi-VN"))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
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
	measure(bctx, t, "login (vi)")
	checkA11y(bctx, t, "login (vi)")
	code, err := webui.TOTPCode(e.secrets["bao"], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	run("log in", chromedp.SendKeys(chromedp.CSS("#account"), "bao"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#health")))
	measure(bctx, t, "dashboard (vi)")
	checkA11y(bctx, t, "dashboard (vi)")

	run("open access rights", chromedp.Navigate(e.url+"access"), chromedp.WaitVisible(chromedp.CSS("#grant-form")))
	checkA11y(bctx, t, "access (vi)")
	run("grant", chromedp.SendKeys(chromedp.CSS("#subject"), e.d.ClientA), chromedp.SetValue(chromedp.CSS("#service"), e.d.Service),
		chromedp.Click(chromedp.CSS("#grant-submit")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	measure(bctx, t, "access after grant")
	shot(bctx, t, "node-console-access-vi")
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
	measure(bctx, t, "records (vi)")
	checkA11y(bctx, t, "records (vi)")
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
		measure(bctx, t, "/"+p.path+" (en)")
		if p.path == "" || p.path == "stats" {
			shot(bctx, t, "node-console-"+map[string]string{"": "health", "stats": "stats"}[p.path]+"-en")
		}
		checkA11y(bctx, t, "/"+p.path+" (en)")
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
