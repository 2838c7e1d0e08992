package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/browsertest"

	"github.com/chromedp/chromedp"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/state"
)

// TestBrowserApprove drives headless Chromium through the registry console:
// English login page, login with password and TOTP, the dashboard, approve
// a pending registration (the registry state and the history name the
// account), Vietnamese, logout; then an auditor whose approve, sent by
// hand past the disabled button, the server refuses with 403.
func TestBrowserApprove(t *testing.T) {
	exe := browsertest.Chromium(t)
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reqD, err := e.nw.Submit(ctx, devnet.Agency{Code: "000.00.00.D01", Name: "So Giao duc (agency D)", Subsystem: "GIAODUC"})
	if err != nil {
		t.Fatal(err)
	}
	bctx := browsertest.New(t, ctx, exe, "en-US")
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
	browsertest.Measure(bctx, t, "login (vi)")
	browsertest.CheckA11y(bctx, t, "login (vi)")
	if h := text("h1"); h != "Đăng nhập" {
		t.Fatalf("default login heading %q", h)
	}
	run("switch to English", chromedp.SetValue(chromedp.CSS("#lang-select"), "en"), chromedp.Click(chromedp.CSS("#lang-apply")),
		chromedp.WaitVisible(`//h1[text()="Log in"]`))
	login(t, run, e, "bao")
	browsertest.Measure(bctx, t, "dashboard (en)")
	browsertest.CheckA11y(bctx, t, "dashboard (en)")
	browsertest.Shot(bctx, t, "console-dashboard-en")
	if s := text("main"); !strings.Contains(s, "Pending registrations") {
		t.Fatalf("dashboard: %s", s)
	}
	run("open the queue", chromedp.Click(chromedp.CSS(`a[href="/console/registrations?status=pending"]`)), chromedp.WaitVisible(chromedp.CSS("#registrations")))
	browsertest.Measure(bctx, t, "registration queue")
	browsertest.CheckA11y(bctx, t, "registration queue")
	run("review", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/console/registrations/%s"]`, reqD))), chromedp.WaitVisible(chromedp.CSS("#approve")))
	browsertest.Measure(bctx, t, "registration")
	browsertest.CheckA11y(bctx, t, "registration")
	browsertest.Shot(bctx, t, "console-registration-en")
	run("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	browsertest.Measure(bctx, t, "after approve")
	browsertest.CheckA11y(bctx, t, "after approve")
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
	browsertest.Measure(bctx, t, "history")
	browsertest.CheckA11y(bctx, t, "history")
	run("switch to Vietnamese", chromedp.SetValue(chromedp.CSS("#lang-select"), "vi"), chromedp.Click(chromedp.CSS("#lang-apply")),
		chromedp.WaitVisible(`//h1[text()="Lịch sử thay đổi (chuỗi băm, nhân bản)"]`))
	lang, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	browsertest.Shot(bctx, t, "console-history-vi")
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
