package browsertest

import (
	"context"
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

//go:embed axe/axe.min.js
var axeJS string

// Chromium finds the browser. Without it the test fails (CI installs
// Debian's chromium, .ci/run) unless DXL_SKIP_BROWSER is set; -short
// skips it.
func Chromium(t *testing.T) string {
	t.Helper()
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

// New starts headless Chromium (exe) with lang ("vi-VN", "en-US") as its
// language; the browser ends with ctx or the test.
func New(t *testing.T, ctx context.Context, exe, lang string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("lang", lang))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() { bcancel(); acancel() })
	return bctx
}

// Shot saves the page as DXL_CONSOLE_SCREENSHOTS/name.png when that is set
// (docs/console.md's pictures are made so).
func Shot(ctx context.Context, t *testing.T, name string) {
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

// Measure logs the page's R-T4 figures (logged, never asserted).
func Measure(ctx context.Context, t *testing.T, page string) {
	t.Helper()
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

// CheckA11y runs axe-core (WCAG 2.1 A/AA and best practice) on the page
// and fails on a serious or critical violation; lesser ones are logged.
func CheckA11y(ctx context.Context, t *testing.T, page string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeJS+";true")); err != nil {
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
