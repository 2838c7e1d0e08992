package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
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
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runApp(runCtx, out, "demo", "--dir", t.TempDir(), "--api-listen", "127.0.0.1:0", "--json")
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
	// The same record from the backend directly.
	direct, err := exec.CommandContext(ctx, curl, "-sSf", info["backend"]+"/citizens/001").CombinedOutput()
	if err != nil || !strings.Contains(string(direct), got["name"]) {
		t.Fatalf("backend directly: %v %s", err, direct)
	}
}
