package membership

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// TestRegistrySIEM: with registry.json siem, a server exports the history
// entries it applies (as audit events, with their index) and refused
// operator tokens (as security events, never the token).
func TestRegistrySIEM(t *testing.T) {
	ctx := storetest.Context(t, 60*time.Second)
	dir, events := t.TempDir(), filepath.Join(t.TempDir(), "siem.jsonl")
	apiAddr := freePort(t)
	res, err := InitFirst(ctx, dir, InitOptions{Instance: regtest.Instance, ServerAddrs: ServerAddrs{ID: "reg-1", RaftAddr: freePort(t), APIAddr: apiAddr,
		APIURL: "https://" + apiAddr, IPs: []net.IP{net.ParseIP("127.0.0.1")}}, Operator: "GOV/OPERATOR"}, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ReadRegistryFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.SIEM = siem.Config{JSONFile: events}
	raw, _ := json.Marshal(f)
	os.WriteFile(filepath.Join(dir, FileRegistry), raw, 0o600)
	r, err := Open(ctx, dir, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Server().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	anchor, err := globalconf.LoadAnchor(res.Anchor)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	for _, c := range anchor.Roots {
		roots.AddCert(c)
	}
	admin, _ := client.New([]string{r.URL()}, client.WithRoots(roots), client.WithOperatorToken(res.AdminToken))
	if _, err := admin.SetGroup(ctx, "bo-nganh", "ministries", nil); err != nil {
		t.Fatal(err)
	}
	wrong, _ := client.New([]string{r.URL()}, client.WithRoots(roots), client.WithOperatorToken("dxlop_not-a-token"))
	if _, err := wrong.Status(ctx); !errors.Is(err, state.ErrUnauthenticated) {
		t.Fatalf("a wrong token: %v", err)
	}
	r.Close() // sends what is queued
	byAction := map[string]siem.Event{}
	raw, _ = os.ReadFile(events)
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ev siem.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		byAction[ev.Action] = ev
	}
	if ev := byAction["set_group"]; ev.Kind != "audit" || ev.Target != "bo-nganh" || ev.Source != "reg-1" || !strings.HasPrefix(ev.Detail, "index ") {
		t.Errorf("history event: %+v (all %v)", ev, byAction)
	}
	if ev := byAction["operator.unauthenticated"]; ev.Kind != "security" || !strings.Contains(ev.Detail, "/v1/admin/status") {
		t.Errorf("refused token event: %+v (all %v)", ev, byAction)
	}
	if strings.Contains(string(raw), "dxlop_not-a-token") || strings.Contains(string(raw), res.AdminToken) {
		t.Error("a token in the SIEM events")
	}
}
