package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/archive"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
)

// TestNodeWorkflow follows the documented CLI steps against a running
// registry: init, register, approve (operator), enroll, serve, status,
// credentials; then a second node of the member with --sign-from and
// 'registry node add'.
func TestNodeWorkflow(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	nw, err := devnet.Start(ctx, devnet.Options{Dir: filepath.Join(work, "net"), FastRaft: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	pass := filepath.Join(work, "pass")
	tok := filepath.Join(work, "token")
	os.WriteFile(pass, []byte("node passphrase\n"), 0o600)
	os.WriteFile(tok, []byte(nw.AdminToken+"\n"), 0o600)
	n1, n2 := filepath.Join(work, "n1"), filepath.Join(work, "n2")
	member := nw.Instance + "/GOV/000.00.00.H26"

	out, err := dxl(ctx, "node", "init", "--dir", n1, "--anchor", nw.AnchorPath, "--member", member, "--passphrase-file", pass,
		"--listen", "/ip4/127.0.0.1/tcp/0", "--api-listen", freeAddr(t), "--json")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	var ini node.InitResult
	if err := json.Unmarshal([]byte(out), &ini); err != nil || ini.PeerID == "" {
		t.Fatalf("init output %s: %v", out, err)
	}
	out, err = dxl(ctx, "node", "register", "--dir", n1, "--form", "../docs/examples/registration.json", "--passphrase-file", pass, "--json")
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	var st struct {
		RequestID string `json:"request_id"`
	}
	json.Unmarshal([]byte(out), &st)
	// Pending: enroll says so and installs nothing.
	if out, err := dxl(ctx, "node", "enroll", "--dir", n1, "--passphrase-file", pass); err == nil || !strings.Contains(err.Error(), "not approved") {
		t.Fatalf("enroll before approval: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "registry", "request", "approve", "--anchor", nw.AnchorPath, "--token-file", tok, st.RequestID); err != nil {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "node", "enroll", "--dir", n1, "--passphrase-file", pass, "--json"); err != nil || !strings.Contains(out, ini.PeerID) {
		t.Fatalf("enroll: %v\n%s", err, out)
	}
	background(t, "node", "serve", "--dir", n1, "--passphrase-file", pass)
	// Run no other in-process command before serve is up: urfave/cli's
	// parsing of its own package-level help flag is not safe for
	// concurrent apps.
	waitFor(t, "the node's admin socket", func() bool {
		_, err := os.Stat(filepath.Join(n1, node.FileAdminSocket))
		return err == nil
	})
	var h node.Health
	waitFor(t, "the node's health", func() bool {
		out, err := dxl(ctx, "node", "status", "--dir", n1, "--json")
		return err == nil && json.Unmarshal([]byte(out), &h) == nil && h.Status == "ok" && h.ConfigVersion > 0
	})
	if h.Member != member || h.PeerID != ini.PeerID {
		t.Fatalf("health %+v", h)
	}
	out, err = dxl(ctx, "node", "credential", "create", "--dir", n1, "--subsystem", member+"/HOTICH", "--json")
	if err != nil || !strings.Contains(out, `"secret": "dxlcs_`) {
		t.Fatalf("credential: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "node", "credential", "create", "--dir", n1, "--subsystem", nw.Instance+"/GOV/000.00.00.X99/HOTICH"); err == nil {
		t.Fatalf("credential for another member's subsystem: %s", out)
	}
	// The periodic report of the node's calls (none yet: a header only).
	if out, err := dxl(ctx, "node", "records", "report", "--dir", n1, "--from", "2026-01-01", "--to", "2027-01-01", "--format", "csv"); err != nil ||
		!strings.HasPrefix(out, "day,role,service,calls,succeeded,failed,causes") {
		t.Fatalf("records report: %v\n%s", err, out)
	}
	// The doctor finds nothing wrong with the running node, and says what a
	// wrong passphrase breaks.
	out, _, err = dxlSplit(ctx, "node", "doctor", "--dir", n1, "--passphrase-file", pass, "--json")
	var rep node.DoctorReport
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || !rep.Running || rep.Errors() != 0 {
		t.Fatalf("doctor: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(work, "wrong"), []byte("not it\n"), 0o600)
	if out, err := dxl(ctx, "node", "doctor", "--dir", n1, "--passphrase-file", filepath.Join(work, "wrong")); err == nil ||
		!strings.Contains(out, "ERROR passphrase") || !strings.Contains(out, "→ use the passphrase the node was initialised with") {
		t.Fatalf("doctor with a wrong passphrase: %v\n%s", err, out)
	}

	// A backup of the running node restores into a new directory; the
	// same archive does not restore over it.
	backup, restored := filepath.Join(work, "n1.tar"), filepath.Join(work, "n1-restored")
	if out, err := dxl(ctx, "node", "backup", "--dir", n1, "--out", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	out, _, err = dxlSplit(ctx, "node", "restore", "--from", backup, "--dir", restored, "--json")
	var man archive.Manifest
	var info node.BackupInfo
	if err != nil || json.Unmarshal([]byte(out), &man) != nil || json.Unmarshal(man.Meta, &info) != nil || info.PeerID != ini.PeerID {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(restored, node.FileSignKey)); err != nil {
		t.Fatalf("restored directory: %v", err)
	}
	if out, err := dxl(ctx, "node", "restore", "--from", backup, "--dir", restored); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore over a node directory: %v\n%s", err, out)
	}

	// The registry server's doctor finds nothing wrong with it.
	if out, err := dxl(ctx, "registry", "doctor", "--dir", filepath.Join(nw.Dir, "registry"), "--passphrase-file", regPassFile(t, work)); err != nil || !strings.Contains(out, "ok    server") {
		t.Fatalf("registry doctor: %v\n%s", err, out)
	}
	// The registry's backup, restored into a new server directory.
	rb := filepath.Join(work, "registry.tar")
	if out, err := dxl(ctx, "registry", "backup", "--anchor", nw.AnchorPath, "--token-file", tok, "--out", rb); err != nil {
		t.Fatalf("registry backup: %v\n%s", err, out)
	}
	out, err = dxl(ctx, "registry", "restore", "--from", rb, "--dir", filepath.Join(work, "r-restored"))
	if err != nil || !strings.Contains(out, "Start it: dxl registry serve") {
		t.Fatalf("registry restore: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(work, "r-restored", "raft", "peers.json")); err != nil {
		t.Fatalf("restored registry: %v", err)
	}

	// A newcomer: join (init, register, wait for the approval, enroll) in
	// one command, then an information system pinned without editing JSON.
	n3, m3 := filepath.Join(work, "n3"), nw.Instance+"/GOV/000.00.00.H27"
	go func() { // the operator approves while join waits
		for ctx.Err() == nil {
			if list, err := nw.Admin.Registrations(ctx, state.RequestPending); err == nil {
				for _, r := range list {
					if r.Member == m3 {
						nw.Admin.Approve(ctx, r.RequestID)
						return
					}
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	if out, err := dxl(ctx, "node", "join", "--dir", n3, "--anchor", nw.AnchorPath, "--member", m3, "--form", "../docs/examples/registration.json",
		"--passphrase-file", pass, "--listen", "/ip4/127.0.0.1/tcp/0", "--api-listen", freeAddr(t), "--wait", "1m"); err != nil || !strings.Contains(out, "joined: member "+m3) {
		t.Fatalf("join: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "node", "client", "add", "--dir", n3, "--subsystem", m3+"/HOTICH", "--create", "hotich", "--out", work); err != nil || !strings.Contains(out, "pinned") {
		t.Fatalf("client add: %v\n%s", err, out)
	}
	if cfg, err := node.LoadConfig(n3); err != nil || len(cfg.Clients) != 1 || cfg.Clients[0].Subsystem != m3+"/HOTICH" {
		t.Fatalf("pinned clients: %+v, %v", cfg, err)
	}
	if out, err := dxl(ctx, "node", "client", "add", "--dir", n3, "--subsystem", m3+"/HOTICH", "--cert", filepath.Join(work, "hotich.pem")); err == nil {
		t.Fatalf("the same certificate pinned twice: %s", out)
	}

	// A second node of the member.
	if out, err := dxl(ctx, "node", "init", "--dir", n2, "--anchor", nw.AnchorPath, "--member", member, "--passphrase-file", pass,
		"--listen", "/ip4/127.0.0.1/tcp/0", "--api-listen", freeAddr(t), "--sign-from", n1); err != nil {
		t.Fatalf("init second: %v\n%s", err, out)
	}
	out, err = dxl(ctx, "registry", "node", "add", "--anchor", nw.AnchorPath, "--token-file", tok, "--member", member,
		"--csr", filepath.Join(n2, node.FileNodeCSR), "--addr", "/ip4/127.0.0.1/tcp/4999", "--out", filepath.Join(n2, node.FileAuthCert), "--json")
	if err != nil || !strings.Contains(out, `"peer_id"`) {
		t.Fatalf("registry node add: %v\n%s", err, out)
	}
	if st := nw.Registry.Server().State(); len(st.Nodes) != 3 { // n1, n3 and the second node of n1's member
		t.Fatalf("registry has %d nodes", len(st.Nodes))
	}
}

// regPassFile writes the devnet registry's passphrase to a file in dir.
func regPassFile(t *testing.T, dir string) string {
	p := filepath.Join(dir, "registry-pass")
	if err := os.WriteFile(p, []byte(devnet.Passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
