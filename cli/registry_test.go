package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

// appMu serialises the flag parsing of in-process dxl runs: urfave/cli
// applies its package-level help flag to every app it parses, so two apps
// parsing at once race on it.
var appMu sync.Mutex

// regRun runs dxl in-process with stdout and stderr apart, so JSON output
// stays parseable whatever is logged.
func regRun(ctx context.Context, args ...string) (string, string, error) {
	appMu.Lock()
	defer appMu.Unlock()
	var out, errOut testutil.SyncBuffer
	app := App()
	app.Writer, app.ErrWriter = &out, &errOut
	app.ExitErrHandler = func(*cli.Context, error) {}
	err := app.RunContext(ctx, append([]string{"dxl", "--log-level", "error"}, args...))
	return out.String(), errOut.String(), err
}

// serveRegistry runs `dxl registry serve --dir dir` until stop is called
// (or the test ends).
func serveRegistry(t *testing.T, dir string, extra ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errOut testutil.SyncBuffer
	appMu.Lock() // until serve has parsed its flags and printed its banner
	go func() {
		app := App()
		app.Writer, app.ErrWriter = &out, &errOut
		app.ExitErrHandler = func(*cli.Context, error) {}
		done <- app.RunContext(ctx, append([]string{"dxl", "--log-level", "error", "registry", "serve", "--dir", dir}, extra...))
	}()
	for !strings.Contains(out.String(), "serving") {
		select {
		case err := <-done:
			appMu.Unlock()
			cancel()
			t.Fatalf("serve %s: %v\n%s", dir, err, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	appMu.Unlock()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %s: %v\n%s", dir, err, errOut.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

func registryStatus(t *testing.T, ctx context.Context, dir string) (client.StatusResponse, error) {
	t.Helper()
	var st client.StatusResponse
	out, _, err := regRun(ctx, "registry", "status", "--dir", dir, "--json")
	if err != nil {
		return st, err
	}
	mustJSON(t, out, &st)
	return st, nil
}

func pollFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRegistryWalkthroughLeaderStop is docs/registry.md's walk-through: init
// server 1, serve it, mint tokens, join servers 2 and 3 and serve them, all
// on 127.0.0.1; status shows three voters and a leader. Then the leader's
// serve stops: a write (a join token) still commits through a survivor,
// status shows a new leader, and the stopped server is removed.
func TestRegistryWalkthroughLeaderStop(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-server walk-through with a leader stop: full suite only (-short skips it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	t.Setenv(EnvPassphrase, "registry walk-through passphrase")
	t.Setenv(EnvOperatorToken, "")
	dirs := map[string]string{}
	for _, id := range []string{"reg-1", "reg-2", "reg-3"} {
		dirs[id] = filepath.Join(work, id)
	}
	addrs := func() []string {
		api := freeAddr(t)
		return []string{"--raft-listen", freeAddr(t), "--api-listen", api, "--api-url", "https://" + api, "--ip", "127.0.0.1"}
	}

	caAddr, tsaAddr := freeAddr(t), freeAddr(t)
	out, _, err := regRun(ctx, append([]string{"registry", "init", "--dir", dirs["reg-1"], "--instance", "VN-TEST",
		"--id", "reg-1", "--operator", "GOV/OPERATOR", "--tsa", "--tsa-url", "http://" + tsaAddr + "/", "--ca-url", "http://" + caAddr,
		"--json"}, addrs()...)...)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	var initRes membership.InitResult
	mustJSON(t, out, &initRes)
	if len(initRes.AdminToken) != 64 || len(initRes.RootSHA256) != 64 {
		t.Fatalf("init result %+v", initRes)
	}
	if _, err := os.Stat(filepath.Join(dirs["reg-1"], "anchor.json")); err != nil {
		t.Fatal(err)
	}
	// The admin token is stored nowhere in clear.
	filepath.WalkDir(dirs["reg-1"], func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), initRes.AdminToken) {
				t.Errorf("%s holds the admin token", p)
			}
		}
		return nil
	})
	if _, _, err := regRun(ctx, "registry", "status", "--dir", dirs["reg-1"]); err == nil {
		t.Fatal("status without an operator token succeeded")
	}
	t.Setenv(EnvOperatorToken, initRes.AdminToken)

	// The first server runs the whole operator side: its CA's OCSP and CRL
	// and its TSA too.
	stops := map[string]func(){"reg-1": serveRegistry(t, dirs["reg-1"], "--ca-listen", caAddr, "--tsa-listen", tsaAddr)}
	pollFor(t, "reg-1 leads", 30*time.Second, func() bool {
		st, err := registryStatus(t, ctx, dirs["reg-1"])
		return err == nil && st.LeaderID == "reg-1"
	})

	// curl --cacert root.pem https://127.0.0.1:PORT/healthz works: the
	// server certificate names the IP address.
	raw, _ := os.ReadFile(filepath.Join(dirs["reg-1"], "ca", "root.pem"))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(raw)
	web := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer web.CloseIdleConnections()
	resp, err := web.Get(initRes.APIURL + "/healthz")
	if err != nil {
		t.Fatalf("verified HTTPS: %v", err)
	}
	resp.Body.Close()
	// The registry servers' own certificates point at the OCSP responder
	// and CRL it serves.
	pemRaw, _ := os.ReadFile(filepath.Join(dirs["reg-1"], membership.FileServerCert))
	blk, _ := pem.Decode(pemRaw)
	if blk == nil {
		t.Fatal("no server certificate")
	}
	srv, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || len(srv.OCSPServer) != 1 || srv.OCSPServer[0] != "http://"+caAddr+"/ocsp" || len(srv.CRLDistributionPoints) != 1 {
		t.Fatalf("server certificate OCSP %v CRL %v: %v", srv.OCSPServer, srv.CRLDistributionPoints, err)
	}
	if resp, err := http.Get("http://" + caAddr + "/crl"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the CRL from registry serve --ca-listen: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	doc := filepath.Join(work, "doc.txt")
	os.WriteFile(doc, []byte("a document to time-stamp"), 0o600)
	if out, _, err := regRun(ctx, "tsa", "stamp", "--url", "http://"+tsaAddr+"/", doc); err != nil {
		t.Fatalf("a token from registry serve --tsa-listen: %v\n%s", err, out)
	}

	for _, id := range []string{"reg-2", "reg-3"} {
		tok, _, err := regRun(ctx, "registry", "token", "--dir", dirs["reg-1"], "--ttl", "10m")
		if err != nil || !strings.HasPrefix(tok, state.JoinTokenPrefix) {
			t.Fatalf("token: %v %q", err, tok)
		}
		out, _, err := regRun(ctx, append([]string{"registry", "join", "--dir", dirs[id], "--token", strings.TrimSpace(tok),
			"--id", id, "--json"}, addrs()...)...)
		if err != nil {
			t.Fatalf("join %s: %v\n%s", id, err, out)
		}
		var jr membership.JoinResult
		mustJSON(t, out, &jr)
		if jr.ID != id || jr.RootSHA256 != initRes.RootSHA256 {
			t.Fatalf("join result %+v", jr)
		}
		// The token is spent: a second join with it is refused.
		if id == "reg-2" {
			_, _, err := regRun(ctx, append([]string{"registry", "join", "--dir", filepath.Join(work, "again"), "--token", strings.TrimSpace(tok),
				"--id", "reg-9"}, addrs()...)...)
			if !errors.Is(err, state.ErrJoinTokenUsed) {
				t.Fatalf("reused join token: %v", err)
			}
		}
		stops[id] = serveRegistry(t, dirs[id])
		pollFor(t, id+" voter", 30*time.Second, func() bool {
			st, err := registryStatus(t, ctx, dirs[id])
			if err != nil {
				return false
			}
			for _, s := range st.Servers {
				if s.ID == id && s.Suffrage == "voter" {
					return st.LeaderID != ""
				}
			}
			return false
		})
	}

	var st client.StatusResponse
	pollFor(t, "three voters seen from every server", 30*time.Second, func() bool {
		for _, d := range dirs {
			s, err := registryStatus(t, ctx, d)
			if err != nil || len(s.Servers) != 3 || s.LeaderID == "" || len(s.RegistryServers) != 3 {
				return false
			}
			st = s
		}
		return true
	})
	for _, s := range st.Servers {
		if s.Suffrage != "voter" {
			t.Fatalf("servers %+v", st.Servers)
		}
	}
	if out, _, err := regRun(ctx, "registry", "status", "--dir", dirs["reg-2"]); err != nil || !strings.Contains(out, "reg-3") {
		t.Fatalf("status text: %v\n%s", err, out)
	}

	// An anchor naming every server, for clients that must fail over.
	anchorPath := filepath.Join(work, "anchor-all.json")
	if out, _, err := regRun(ctx, "registry", "anchor", "--dir", dirs["reg-1"], "--out", anchorPath); err != nil {
		t.Fatalf("registry anchor: %v\n%s", err, out)
	}
	full, err := globalconf.LoadAnchor(anchorPath)
	if err != nil || len(full.Servers) != 3 {
		t.Fatalf("exported anchor: %v %+v", err, full)
	}

	// Stop the leader. A write through a survivor still commits and a new
	// leader is elected.
	old := st.LeaderID
	stops[old]()
	var survivor string
	for id := range dirs {
		if id != old {
			survivor = id
			break
		}
	}
	var minted client.MintJoinTokenResponse
	pollFor(t, "a write after the leader stopped", 60*time.Second, func() bool {
		out, _, err := regRun(ctx, "registry", "token", "--dir", dirs[survivor], "--json")
		if err != nil {
			return false
		}
		return json.Unmarshal([]byte(out), &minted) == nil && minted.Index > 0
	})
	pollFor(t, "a new leader", 30*time.Second, func() bool {
		s, err := registryStatus(t, ctx, dirs[survivor])
		st = s
		return err == nil && s.LeaderID != "" && s.LeaderID != old && s.ConfigVersion >= minted.Index
	})

	// A client holding the full anchor reaches a survivor on its own.
	if out, _, err := regRun(ctx, "registry", "status", "--anchor", anchorPath, "--json"); err != nil {
		t.Fatalf("status through the exported anchor with the old leader down: %v\n%s", err, out)
	}

	out, _, err = regRun(ctx, "registry", "remove", "--dir", dirs[survivor], "--id", old, "--json")
	if err != nil {
		t.Fatalf("remove %s: %v\n%s", old, err, out)
	}
	pollFor(t, "two voters", 30*time.Second, func() bool {
		s, err := registryStatus(t, ctx, dirs[survivor])
		return err == nil && len(s.Servers) == 2 && len(s.RegistryServers) == 2
	})
}
