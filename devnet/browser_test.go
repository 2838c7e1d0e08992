package devnet_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/browsertest"
	"github.com/dxl-network/dxl/internal/webui"
	regconsole "github.com/dxl-network/dxl/membership/console"
	"github.com/dxl-network/dxl/node"
	nodeconsole "github.com/dxl-network/dxl/node/console"
)

// TestBrowserAdmissionToCall is the operators' path through both consoles
// in one headless Chromium, in Vietnamese: agency C's node submits its
// registration; the registry operator approves it in the registry
// console; B's node console shows C's node once the signed configuration
// has moved; C's node starts and its system's call to B's service is
// refused until B's administrator grants it in B's console, then served.
// Every page passes axe-core; the R-T4 timings are logged.
func TestBrowserAdmissionToCall(t *testing.T) {
	exe := browsertest.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: t.TempDir(), FastRaft: true, ConfigInterval: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ops, err := d.ConsoleAccount("vanhanh", regconsole.RoleApprover)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := d.B.ConsoleAccount("quantri", nodeconsole.RoleAdministrator)
	if err != nil {
		t.Fatal(err)
	}
	reqC, err := d.Submit(ctx, devnet.AgencyC)
	if err != nil {
		t.Fatal(err)
	}
	bctx := browsertest.New(t, ctx, exe, "vi-VN")
	page := &walk{t: t, ctx: bctx}

	regURL := d.Registry.ConsoleURL()
	page.login(regURL, ops, "#tile-pending")
	page.open(regURL+"registrations/"+reqC, "#approve", "registration C")
	before := d.B.Node.ConfigVersion()
	page.run("approve", chromedp.Click(chromedp.CSS("#approve")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	page.check("after approve")

	memberC, subC := d.Member(devnet.AgencyC), d.SubsystemID(devnet.AgencyC)
	nodeURL := d.B.Node.ConsoleURL()
	page.login(nodeURL, adm, "#health")
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(page.text("#peers"), memberC) {
		if time.Now().After(deadline) {
			t.Fatalf("B's console never showed %s; configuration %d (before the approval %d)", memberC, d.B.Node.ConfigVersion(), before)
		}
		time.Sleep(300 * time.Millisecond)
		page.open(nodeURL, "#health", "")
	}
	page.check("B's dashboard with C")
	if after := d.B.Node.ConfigVersion(); after <= before {
		t.Fatalf("configuration %d after the approval, %d before", after, before)
	}

	call := startC(t, ctx, d, subC)
	if st := call(); st != http.StatusForbidden {
		t.Fatalf("C's call before the grant: %d", st)
	}
	page.open(nodeURL+"access", "#grant-form", "access")
	page.run("grant C", chromedp.SendKeys(chromedp.CSS("#subject"), subC), chromedp.SetValue(chromedp.CSS("#service"), d.Service),
		chromedp.Click(chromedp.CSS("#grant-submit")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	page.check("access after the grant")
	if st := call(); st != http.StatusOK {
		t.Fatalf("C's call after the grant: %d", st)
	}
}

// startC enrolls and starts agency C's node with a pinned system, and
// returns that system's call to B's service through C's node.
func startC(t *testing.T, ctx context.Context, d *devnet.Demo, subC string) func() int {
	t.Helper()
	dir := d.NodeDir(devnet.AgencyC)
	cert, key, _, err := devnet.ClientCert(dir, "is-c")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.PinClient(dir, subC, cert); err != nil {
		t.Fatal(err)
	}
	hc, err := d.Enroll(ctx, devnet.AgencyC)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WaitConfig(ctx, hc, d.B); err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, node.FileAPICert))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(raw)
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}}
	t.Cleanup(c.CloseIdleConnections)
	return func() int {
		resp, err := c.Get("https://" + hc.Node.APIAddr() + "/r1/" + d.Service + "/citizens/001")
		if err != nil {
			t.Fatalf("C's call: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
}

// walk is the browser of the test.
type walk struct {
	t   *testing.T
	ctx context.Context
}

func (w *walk) run(what string, acts ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, acts...); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

func (w *walk) text(sel string) string {
	w.t.Helper()
	s, err := chromedp.Run(w.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		w.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// check measures the page and runs axe-core on it.
func (w *walk) check(name string) {
	w.t.Helper()
	browsertest.Measure(w.ctx, w.t, name)
	browsertest.CheckA11y(w.ctx, w.t, name)
}

// open navigates to u, waits for sel and, with a name, checks the page.
func (w *walk) open(u, sel, name string) {
	w.t.Helper()
	w.run("open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(sel)))
	if name != "" {
		w.check(name)
	}
}

// login logs in to the console at base with l (password and TOTP) and
// waits for the dashboard's sel.
func (w *walk) login(base string, l devnet.ConsoleLogin, sel string) {
	w.t.Helper()
	code, err := webui.TOTPCode(l.TOTPSecret, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	w.open(base+"login", "#login-form", "login "+base)
	w.run("log in as "+l.Account, chromedp.SendKeys(chromedp.CSS("#account"), l.Account), chromedp.SendKeys(chromedp.CSS("#password"), l.Password),
		chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS(sel)))
	w.check("dashboard " + base)
}
