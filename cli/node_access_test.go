package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/services"
)

// TestNodeAccessAndConsoleUser: `dxl node access` grants, lists and
// revokes a right on a running provider node (node.json and the audit log
// follow, a bad rule is refused with its code), and `dxl node console-user`
// adds, lists, unlocks and removes console accounts of the node.
func TestNodeAccessAndConsoleUser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	d, err := devnet.StartDemo(ctx, devnet.DemoOptions{Options: devnet.Options{Dir: t.TempDir(), FastRaft: true, Logger: slog.New(slog.DiscardHandler)},
		ConfigureB: func(c *node.Config) { c.Access = services.AccessConfig{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	b := d.B.Dir
	rule := []string{"--dir", b, "--subject", d.ClientA, "--service", d.Service, "--method", "get", "--path", "/citizens/*"}
	out, err := dxl(ctx, append([]string{"node", "access", "grant"}, rule...)...)
	if err != nil || !strings.Contains(out, "granted") || !strings.Contains(out, "/citizens/*") {
		t.Fatalf("grant: %v\n%s", err, out)
	}
	out, err = dxl(ctx, "node", "access", "list", "--dir", b, "--json")
	var a services.AccessConfig
	if err != nil || json.Unmarshal([]byte(out), &a) != nil || len(a.Rules) != 1 || a.Rules[0].Method != "GET" {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, append([]string{"node", "access", "grant"}, rule...)...); err == nil || !strings.Contains(err.Error(), "access_exists") {
		t.Fatalf("second grant: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "node", "access", "grant", "--dir", b, "--subject", "nobody", "--service", d.Service); err == nil ||
		!strings.Contains(err.Error(), "invalid_rule") {
		t.Fatalf("bad subject: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, append([]string{"node", "access", "revoke", "--json"}, rule...)...); err != nil || !strings.Contains(out, `"rules": []`) {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	var sb strings.Builder
	_ = d.B.Node.Audit().Export(&sb)
	if !strings.Contains(sb.String(), `"action":"access.grant"`) || !strings.Contains(sb.String(), `"action":"access.revoke"`) {
		t.Fatalf("audit log:\n%s", sb.String())
	}

	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("Mật-khẩu-Thử-2026!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = dxl(ctx, "node", "console-user", "add", "--dir", b, "--name", "ada", "--role", "service_manager", "--password-file", pw, "--json")
	var added struct {
		Name, Role string
		TOTPSecret string `json:"totp_secret"`
	}
	if err != nil || json.Unmarshal([]byte(out), &added) != nil || added.Role != "service_manager" || added.TOTPSecret == "" {
		t.Fatalf("console-user add: %v\n%s", err, out)
	}
	if out, err := dxl(ctx, "node", "console-user", "add", "--dir", b, "--name", "kim", "--role", "service_manager", "--no-mfa", "--password-file", pw); err == nil {
		t.Fatalf("a state-changing role without TOTP: %s", out)
	}
	out, err = dxl(ctx, "node", "console-user", "list", "--dir", b, "--json")
	if err != nil || !strings.Contains(out, `"name": "ada"`) || strings.Contains(out, "password_hash") || strings.Contains(out, added.TOTPSecret) {
		t.Fatalf("console-user list: %v\n%s", err, out)
	}
	for _, sub := range []string{"unlock", "remove"} {
		if out, err := dxl(ctx, "node", "console-user", sub, "--dir", b, "ada"); err != nil {
			t.Fatalf("console-user %s: %v\n%s", sub, err, out)
		}
	}
	if list, _ := node.ConsoleAccounts(b).List(); len(list) != 0 {
		t.Fatalf("accounts after remove: %+v", list)
	}
}
