package cli

import (
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
	// The printed console login works, and console-user adds an account
	// while the server runs.
	testConsoleUser(t, ctx, info, filepath.Join(dir, "registry"))
	// The same record from the backend directly.
	direct, err := exec.CommandContext(ctx, curl, "-sSf", info["backend"]+"/citizens/001").CombinedOutput()
	if err != nil || !strings.Contains(string(direct), got["name"]) {
		t.Fatalf("backend directly: %v %s", err, direct)
	}
}
