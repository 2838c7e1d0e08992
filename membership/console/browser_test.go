package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/state"
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

// pageTiming is what the browser measured of the page it shows.
type pageTiming struct {
	FCP     float64 `json:"fcp"`     // first contentful paint, ms after navigation start
	LCP     float64 `json:"lcp"`     // largest contentful paint, ms
	Request float64 `json:"request"` // the document's request, start to response end, ms
	Slowest float64 `json:"slowest"` // the slowest resource request of the page, ms
}

const timingJS = `new Promise(resolve => {
  const nav = performance.getEntriesByType('navigation')[0] || {};
  const fcp = (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0;
  const req = (nav.responseEnd || 0) - (nav.requestStart || 0);
  const slowest = Math.max(req, ...performance.getEntriesByType('resource').map(e => e.responseEnd - e.requestStart));
  let lcp = 0, fcpObs = 0;
  try {
    new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.name === 'first-contentful-paint') fcpObs = e.startTime; })
      .observe({type: 'paint', buffered: true});
  } catch (e) {}
  try {
    new PerformanceObserver(l => { const e = l.getEntries(); if (e.length) lcp = e[e.length-1].startTime; })
      .observe({type: 'largest-contentful-paint', buffered: true});
  } catch (e) {}
  setTimeout(() => resolve({fcp: fcp || fcpObs, lcp, request: req, slowest}), 150);
})`

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

// axeViolation is one failed axe-core rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
}

type axeResult struct {
	Passes     int            `json:"passes"`
	Violations []axeViolation `json:"violations"`
}

const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
  .then(r => ({passes: r.passes.length, violations: r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help, nodes: v.nodes.length}))}))`

// checkA11y runs axe-core (testdata/axe, injected through DevTools: the
// page's CSP allows no script) on the page and fails on a serious or
// critical violation; lesser ones are logged.
func checkA11y(ctx context.Context, t *testing.T, page string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe", "axe.min.js"))
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

func measure(ctx context.Context, t *testing.T, page string) {
	tm, err := chromedp.Run(ctx, chromedp.Evaluate[pageTiming](timingJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Logf("timing of %s: %v", page, err)
		return
	}
	t.Logf("R-T4 %-22s first contentful paint %6.1f ms, largest contentful paint %6.1f ms, document request %5.1f ms, slowest request %5.1f ms",
		page, tm.FCP, tm.LCP, tm.Request, tm.Slowest)
}

// TestBrowserApprove drives headless Chromium through the registry console:
// English login page, login with password and TOTP, the dashboard, approve
// a pending registration (the registry state and the history name the
// account), Vietnamese, logout; then an auditor whose approve, sent by
// hand past the disabled button, the server refuses with 403.
func TestBrowserApprove(t *testing.T) {
	exe := chromium(t)
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reqD, err := e.nw.Submit(ctx, devnet.Agency{Code: "000.00.00.D01", Name: "So Giao duc (agency D)", Subsystem: "GIAODUC"})
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("lang", "en-US"))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	base := e.url
	run := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	start := time.Now()
	run("open the login page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	measure(bctx, t, "login (vi)")
	checkA11y(bctx, t, "login (vi)")
	if h := text("h1"); h != "Đăng nhập" {
		t.Fatalf("default login heading %q", h)
	}
	run("switch to English", chromedp.SetValue(chromedp.CSS("#lang-select"), "en"), chromedp.Click(chromedp.CSS("#lang-apply")),
		chromedp.WaitVisible(`//h1[text()="Log in"]`))
	login(t, run, e, "bao")
	measure(bctx, t, "dashboard (en)")
	checkA11y(bctx, t, "dashboard (en)")
	shot(bctx, t, "console-dashboard-en")
	if s := text("main"); !strings.Contains(s, "Pending registrations") {
		t.Fatalf("dashboard: %s", s)
	}
	run("open the queue", chromedp.Click(chromedp.CSS(`a[href="/console/registrations?status=pending"]`)), chromedp.WaitVisible(chromedp.CSS("#registrations")))
	measure(bctx, t, "registration queue")
	checkA11y(bctx, t, "registration queue")
	run("review", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/console/registrations/%s"]`, reqD))), chromedp.WaitVisible(chromedp.CSS("#approve")))
	measure(bctx, t, "registration")
	checkA11y(bctx, t, "registration")
	shot(bctx, t, "console-registration-en")
	run("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	measure(bctx, t, "after approve")
	checkA11y(bctx, t, "after approve")
	if s := text(".notice"); !strings.Contains(s, "approved") {
		t.Fatalf("notice %q", s)
	}
	q, err := e.nw.Registry.Server().Request(reqD)
	if err != nil || q.Status != state.RequestApproved || q.DecidedBy != "console:bao" {
		t.Fatalf("request after approve: %+v %v", q.Status, err)
	}
	found := false
	e.nw.Registry.Server().Read(func(s *state.State) {
		for _, h := range s.History {
			found = found || h.Actor == "console:bao" && h.Action == "approve_registration" && h.Target == reqD
		}
	})
	if !found {
		t.Fatal("the history does not name console:bao for the approval")
	}
	run("history", chromedp.Navigate(base+"history?q=console:bao"), chromedp.WaitVisible(chromedp.CSS("#history")))
	measure(bctx, t, "history")
	checkA11y(bctx, t, "history")
	run("switch to Vietnamese", chromedp.SetValue(chromedp.CSS("#lang-select"), "vi"), chromedp.Click(chromedp.CSS("#lang-apply")),
		chromedp.WaitVisible(`//h1[text()="Lịch sử thay đổi (chuỗi băm, nhân bản)"]`))
	lang, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	shot(bctx, t, "console-history-vi")
	if nav := text("nav"); lang != "vi" || !strings.Contains(nav, "Yêu cầu đăng ký") || !strings.Contains(nav, "Thành viên") {
		t.Fatalf("Vietnamese page: lang=%q nav %q", lang, nav)
	}
	run("log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	auditorRefused(t, run, bctx, e)
	t.Logf("browser walk-through took %v", time.Since(start).Round(time.Millisecond))
}

func login(t *testing.T, run func(string, ...chromedp.Action[chromedp.Void]), e *env, name string) {
	t.Helper()
	code := ""
	if s := e.secrets[name]; s != "" {
		var err error
		if code, err = webui.TOTPCode(s, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	run("log in as "+name, chromedp.SendKeys(chromedp.CSS("#account"), name), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#tile-pending")))
}

// auditorRefused: the auditor sees the disabled button; re-enabled by hand
// and pressed, the approve reaches the server, which answers 403 and
// changes nothing.
func auditorRefused(t *testing.T, run func(string, ...chromedp.Action[chromedp.Void]), bctx context.Context, e *env) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reqE, err := e.nw.Submit(ctx, devnet.Agency{Code: "000.00.00.E01", Name: "So Xay dung (agency E)", Subsystem: "XAYDUNG"})
	if err != nil {
		t.Fatal(err)
	}
	login(t, run, e, "ngoc")
	run("auditor opens the request", chromedp.Navigate(e.url+"registrations/"+reqE), chromedp.WaitVisible(chromedp.CSS("#approve")))
	disabled, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById('approve').disabled`))
	if err != nil || !disabled {
		t.Fatalf("the auditor's approve button is enabled (%v)", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById('approve').disabled = false`)); err != nil {
		t.Fatal(err)
	}
	res, err := chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS("#approve")))
	if err != nil {
		t.Fatalf("approve by hand: %v", err)
	}
	msg := ""
	if msg, err = chromedp.Run(bctx, chromedp.Text(chromedp.CSS("p.error"))); err != nil {
		t.Fatal(err)
	}
	if res.Status != 403 || !strings.Contains(msg, "không có quyền") {
		t.Fatalf("auditor approve: status %d, message %q", res.Status, msg)
	}
	if q, _ := e.nw.Registry.Server().Request(reqE); q.Status != state.RequestPending {
		t.Fatalf("after the auditor's approve: %s", q.Status)
	}
}
