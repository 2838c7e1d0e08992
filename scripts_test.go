package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestScripts runs the measurement scripts of docs/performance.md briefly,
// as a user would, and checks they report what they promise.
func TestScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dxl and starts networks of processes")
	}
	for _, tc := range []struct {
		script string
		want   []string
	}{
		{"scripts/demo-load.sh", []string{"exec to ready", "RSS idle", "through both nodes:", " 0 errors"}},
		{"scripts/node-processes.sh", []string{"exec to healthy: node B", "node A: RSS idle", "node B: RSS idle", "through both nodes:", " 0 errors"}},
	} {
		t.Run(tc.script, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			out, err := exec.CommandContext(ctx, "bash", tc.script, "2s", "2").CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.script, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("%s: no %q in\n%s", tc.script, w, out)
				}
			}
		})
	}
}
