package node_test

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
)

// findings indexes a report by check name.
func findings(r *node.DoctorReport) map[string]node.Finding {
	m := map[string]node.Finding{}
	for _, f := range r.Findings {
		m[f.Check] = f
	}
	return m
}

// TestDoctor: on a healthy running node every check is ok (registry, TSA
// and clock, peers online); a wrong passphrase is an error with its fix;
// on the stopped node the databases are checked and a port taken by
// another process is an error naming it.
func TestDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own network and stops a node")
	}
	n := startNet(t, nil)
	dir := n.A.Dir
	r := node.Doctor(n.ctx, dir, node.DoctorOptions{Passphrase: []byte(devnet.Passphrase)})
	if !r.Running || r.Errors() != 0 {
		t.Fatalf("healthy running node: running %v, %d errors: %+v", r.Running, r.Errors(), r.Findings)
	}
	f := findings(r)
	for _, check := range []string{"config", "cert node.pem", "cert sign.pem", "passphrase", "global config", "registry", "node", "disk", "journal"} {
		if f[check].Status != node.DoctorOK {
			t.Errorf("%s: %+v, want ok", check, f[check])
		}
	}
	var tsaOK, peerOnline bool
	for _, x := range r.Findings {
		tsaOK = tsaOK || strings.HasPrefix(x.Check, "tsa ") && x.Status == node.DoctorOK && strings.Contains(x.Detail, "clock skew")
		peerOnline = peerOnline || strings.HasPrefix(x.Check, "peer ") && x.Status == node.DoctorOK
	}
	if !tsaOK || !peerOnline {
		t.Errorf("TSA checked %v, a peer online %v: %+v", tsaOK, peerOnline, r.Findings)
	}

	r = node.Doctor(n.ctx, dir, node.DoctorOptions{Passphrase: []byte("not the passphrase")})
	if p := findings(r)["passphrase"]; p.Status != node.DoctorError || !strings.Contains(p.Fix, "DXL_PASSPHRASE") {
		t.Fatalf("wrong passphrase: %+v", p)
	}

	n.A.Stop()
	taken, err := net.Listen("tcp", "127.0.0.1:0") // another program on the address node.json gives the API
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	setAPIListen(t, dir, taken.Addr().String())
	cfg, err := node.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	r = node.Doctor(n.ctx, dir, node.DoctorOptions{})
	f = findings(r)
	if r.Running || f["node"].Status != node.DoctorWarn || !strings.Contains(f["node"].Fix, "dxl node serve") {
		t.Fatalf("stopped node: running %v, %+v", r.Running, f["node"])
	}
	for _, db := range []string{node.FileDB, node.FileMessageLog, node.FileRecords} {
		if f["database "+db].Status != node.DoctorOK {
			t.Errorf("database %s of the stopped node: %+v", db, f["database "+db])
		}
	}
	if p := f["port "+cfg.APIListen]; p.Status != node.DoctorError || !strings.Contains(p.Fix, cfg.APIListen) {
		t.Errorf("taken API port: %+v", p)
	}
	if p := f["passphrase"]; p.Status != node.DoctorWarn {
		t.Errorf("no passphrase given: %+v", p)
	}
}

// setAPIListen rewrites api_listen in dir's node.json.
func setAPIListen(t *testing.T, dir, addr string) {
	t.Helper()
	path := filepath.Join(dir, node.FileConfig)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["api_listen"] = addr
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testDoctorPeerClock: after a call, A's doctor compares B's clock from
// B's response envelope; B restarted with its clock 70 s ahead (within the
// network's 2 min, so calls still pass) is reported with the fix.
func testDoctorPeerClock(t *testing.T, n *testNet, doctorAt func(time.Duration) map[string]node.Finding) (check string) {
	t.Helper()
	call := func() {
		t.Helper()
		if a := do(t, n.client(t, true), "GET", n.url("/citizens/001"), "", nil); a.status != 200 {
			t.Fatalf("call: %d %s", a.status, a.body)
		}
	}
	check = "peer " + n.B.Node.Member().String() + " " + n.B.Node.PeerID().String()
	call()
	if f := doctorAt(0)[check]; f.Status != node.DoctorOK || !strings.Contains(f.Detail, "clock skew") {
		t.Fatalf("B's clock in time: %+v", f)
	}
	n.B.Stop()
	b, err := node.Open(n.ctx, n.B.Dir, []byte(devnet.Passphrase), node.WithLogger(testLogger()),
		node.WithClock(func() time.Time { return time.Now().Add(70 * time.Second) }))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitFor(t, func() bool {
		a := do(t, n.client(t, true), "GET", n.url("/citizens/001"), "", nil)
		return a.status == 200
	})
	if f := doctorAt(0)[check]; f.Status != node.DoctorError || !strings.Contains(f.Detail, "clock skew -1m") || !strings.Contains(f.Fix, "timedatectl") {
		t.Fatalf("B's clock 70 s ahead: %+v", f)
	}
	return check
}

// TestDoctorFindsFailures causes what an operator meets and checks the
// doctor names each with its fix: a clock two minutes off (against the
// registry and the TSA), certificates expired and the configuration too
// old (the clock years on), a peer's clock off, the TSA, a peer and the
// registry down, and a damaged database.
func TestDoctorFindsFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own network and stops its TSA")
	}
	n := startNet(t, nil)
	dir := n.A.Dir
	doctorAt := func(shift time.Duration) map[string]node.Finding {
		r := node.Doctor(n.ctx, dir, node.DoctorOptions{Passphrase: []byte(devnet.Passphrase), Timeout: 5 * time.Second,
			Now: func() time.Time { return time.Now().Add(shift) }})
		return findings(r)
	}
	tsaFinding := func(f map[string]node.Finding) node.Finding {
		for name, x := range f {
			if strings.HasPrefix(name, "tsa ") {
				return x
			}
		}
		t.Fatalf("no TSA finding: %+v", f)
		return node.Finding{}
	}
	expect := func(what string, x node.Finding, status, detail, fix string) {
		t.Helper()
		if x.Status != status || !strings.Contains(x.Detail, detail) || !strings.Contains(x.Fix, fix) {
			t.Errorf("%s: %+v, want %s with %q and fix %q", what, x, status, detail, fix)
		}
	}

	f := doctorAt(0)
	expect("clock registry, in time", f["clock registry"], node.DoctorOK, "clock skew", "")

	f = doctorAt(2 * time.Minute)
	expect("clock registry, 2 min ahead", f["clock registry"], node.DoctorError, "clock skew 2m", "timedatectl")
	expect("TSA, 2 min ahead", tsaFinding(f), node.DoctorError, "clock skew", "timedatectl")
	expect("node.pem, 2 min ahead", f["cert node.pem"], node.DoctorOK, "days left", "")

	f = doctorAt(4 * 365 * 24 * time.Hour)
	expect("node.pem, years on", f["cert node.pem"], node.DoctorError, "expired on", "dxl node enroll")
	expect("sign.pem, years on", f["cert sign.pem"], node.DoctorError, "expired on", "dxl node enroll")
	expect("global config, years on", f["global config"], node.DoctorError, "", "registry")

	peerB := testDoctorPeerClock(t, n, doctorAt) // B is closed after it

	n.StopTSA()
	f = doctorAt(0)
	expect("TSA down", tsaFinding(f), node.DoctorError, "did not stamp", "check the network path")
	// B is down (testDoctorPeerClock closed it), then the registry; then A
	// stopped with a damaged database.
	expect("B down", f[peerB], node.DoctorWarn, "offline", "network path")
	n.Registry.Close()
	f = doctorAt(0)
	expect("registry down", f["registry"], node.DoctorError, "no registry server answered", "network path")
	n.A.Stop()
	db, err := os.OpenFile(filepath.Join(dir, node.FileRecords), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.WriteAt(bytes.Repeat([]byte{0xff}, 8192), 0) // both meta pages
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if x := doctorAt(0)["database "+node.FileRecords]; x.Status != node.DoctorError || x.Detail == "" {
		t.Errorf("damaged %s: %+v", node.FileRecords, x)
	}
}
