package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/testutil"
)

// TestDemoCommand runs `dxl demo` as a newcomer would and pastes the curl
// command it prints: the answer is the provider backend's, through two nodes.
func TestDemoCommand(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is required in CI")
		}
		t.Skip("curl not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	out := &testutil.SyncBuffer{}
	done := make(chan error, 1)
	dir := t.TempDir()
	go func() {
		done <- runApp(runCtx, out, "demo", "--dir", dir, "--api-listen", "127.0.0.1:0", "--rate-limit", "off", "--json")
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	var info map[string]string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if s := out.String(); strings.Contains(s, `"curl"`) {
			start := strings.Index(s, "{")
			end := strings.LastIndex(s, "}")
			if start >= 0 && end > start && json.Unmarshal([]byte(s[start:end+1]), &info) == nil {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("demo exited: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo printed no endpoints:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	line := info["curl"]
	if !strings.HasPrefix(line, "curl ") || strings.Contains(line, "\n") {
		t.Fatalf("curl line %q", line)
	}
	res, err := exec.CommandContext(ctx, "sh", "-c", strings.Replace(line, "curl ", curl+" -f ", 1)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", line, err, res)
	}
	var got map[string]string
	if err := json.Unmarshal(res, &got); err != nil || got["name"] == "" || got["requested_by"] != info["client"] {
		t.Fatalf("answer %s: %v", res, err)
	}
	// The printed load test, shortened: through both nodes, no 429 with
	// the rate limits off.
	bench := strings.Fields(strings.Replace(info["bench"], "-n 2000", "-n 40", 1))
	if len(bench) < 4 || strings.Join(bench[:3], " ") != "go run ." || bench[3] != "bench" {
		t.Fatalf("bench line %q", info["bench"])
	}
	stdout, stderr, err := dxlSplit(ctx, append(bench[3:], "--json")...)
	var load benchURLOutput
	if err != nil || json.Unmarshal([]byte(stdout), &load) != nil || load.Result.OK != 40 || load.Result.Errors != 0 {
		t.Fatalf("%s: %v\n%s\n%s", info["bench"], err, stdout, stderr)
	}
	testDemoDelivery(t, ctx, curl, info, dir)
	testDemoDxlDoc(t, ctx, info, dir)
	// The printed console login works, and console-user adds an account
	// while the server runs.
	testConsoleUser(t, ctx, info, filepath.Join(dir, "registry"))
	// The printed login of node B's console works too.
	nodeCode, err := dxl(ctx, "node", "console-user", "code", "--secret", info["node_b_console_totp_secret"])
	if err != nil {
		t.Fatalf("node console-user code: %v", err)
	}
	if st, body := consoleLogin(t, info["node_b_console_url"], info["node_b_console_account"], info["node_b_console_password"],
		strings.TrimSpace(nodeCode)); st != 200 || !strings.Contains(body, "Tình trạng nút") || !strings.Contains(body, "Đang đăng nhập: demo-admin") {
		t.Fatalf("demo node console login: %d\n%s", st, body)
	}
	// The same record from the backend directly.
	direct, err := exec.CommandContext(ctx, curl, "-sSf", info["backend"]+"/citizens/001").CombinedOutput()
	if err != nil || !strings.Contains(string(direct), got["name"]) {
		t.Fatalf("backend directly: %v %s", err, direct)
	}
}

// testDemoDelivery runs the demo's printed delivery commands as the two
// information systems would: A sends a file to B; B finds it in its
// inbox, fetches the same bytes and acknowledges; A's status shows B's
// signed receipt.
func testDemoDelivery(t *testing.T, ctx context.Context, curl string, info map[string]string, dir string) {
	t.Helper()
	run := func(line string) []byte {
		t.Helper()
		out, err := exec.CommandContext(ctx, "sh", "-c", strings.Replace(line, "curl ", curl+" -f ", 1)).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		return out
	}
	file := filepath.Join(dir, "demo-document.txt")
	content := []byte("Quyết định số 12: a document for agency B")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Meta struct {
			ID string `json:"id"`
		} `json:"meta"`
	}
	if out := run(strings.Replace(info["doc_send"], "FILE", file, 1)); json.Unmarshal(out, &sent) != nil || sent.Meta.ID == "" {
		t.Fatalf("send: %s", out)
	}
	id := sent.Meta.ID
	waitFor(t, "the document in B's inbox", func() bool { return strings.Contains(string(run(info["doc_inbox"])), id) })
	if got := run(strings.Replace(info["doc_fetch"], "ID", id, 1)); !bytes.Equal(got, content) {
		t.Fatalf("fetched %q, want %q", got, content)
	}
	if out := run(strings.Replace(info["doc_ack"], "ID", id, 1)); !strings.Contains(string(out), `"receipt"`) {
		t.Fatalf("ack: %s", out)
	}
	waitFor(t, "B's receipt at A", func() bool {
		return strings.Contains(string(run(strings.Replace(info["doc_status"], "ID", id, 1))), `"acknowledged"`)
	})
}
