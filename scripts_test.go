package main

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

// TestPackaging: scripts/build.sh gives a static binary, stamped with its
// version, the same bytes when built twice; scripts/deb.sh gives a Debian
// package with the binary, the four systemd units and the dxl account; the
// units pass systemd-analyze verify without a word.
func TestPackaging(t *testing.T) {
	if testing.Short() {
		t.Skip("builds dxl twice and a Debian package")
	}
	for _, tool := range []string{"dpkg-deb", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install dpkg and systemd (.ci/run does)", tool)
		}
	}
	dir := t.TempDir()
	run := func(env []string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	a, b := filepath.Join(dir, "a", "dxl"), filepath.Join(dir, "b", "dxl")
	run([]string{"DXL_VERSION=9.9.9-test"}, "bash", "scripts/build.sh", a)
	run([]string{"DXL_VERSION=9.9.9-test"}, "bash", "scripts/build.sh", b)
	ra, _ := os.ReadFile(a)
	rb, _ := os.ReadFile(b)
	if len(ra) == 0 || !bytes.Equal(ra, rb) {
		t.Errorf("two builds of one source differ (%d and %d bytes)", len(ra), len(rb))
	}
	var v struct {
		Version string `json:"version"`
		CGO     string `json:"cgo_enabled"`
	}
	if err := json.Unmarshal([]byte(run(nil, a, "version", "--json")), &v); err != nil || v.Version != "9.9.9-test" || v.CGO != "0" {
		t.Errorf("dxl version: %+v, %v", v, err)
	}
	if m := run(nil, "go", "version", "-m", a); !strings.Contains(m, "CGO_ENABLED=0") || !strings.Contains(m, "-trimpath=true") {
		t.Errorf("build settings:\n%s", m)
	}

	deb := strings.TrimSpace(run([]string{"DXL_DEB_VERSION=9.9.9", "DXL_BINARY=" + a}, "bash", "scripts/deb.sh", filepath.Join(dir, "deb")))
	info := run(nil, "dpkg-deb", "--field", deb, "Package", "Version")
	if !strings.Contains(info, "Package: dxl") || !strings.Contains(info, "Version: 9.9.9") {
		t.Errorf("package fields:\n%s", info)
	}
	contents := run(nil, "dpkg-deb", "-c", deb)
	for _, f := range []string{"./usr/bin/dxl", "./usr/lib/sysusers.d/dxl.conf", "./usr/share/doc/dxl/README.md"} {
		if !strings.Contains(contents, f) {
			t.Errorf("package lacks %s", f)
		}
	}
	units, _ := filepath.Glob("packaging/systemd/*.service")
	if len(units) != 4 {
		t.Fatalf("%d units, want node, registry, CA and TSA", len(units))
	}
	check := filepath.Join(dir, "units")
	os.MkdirAll(check, 0o700)
	var paths []string
	for _, u := range units {
		if !strings.Contains(contents, "./lib/systemd/system/"+filepath.Base(u)) {
			t.Errorf("package lacks %s", u)
		}
		raw, _ := os.ReadFile(u)
		p := filepath.Join(check, filepath.Base(u))
		os.WriteFile(p, bytes.ReplaceAll(raw, []byte("/usr/bin/dxl"), []byte(a)), 0o644) // verify looks for the binary
		paths = append(paths, p)
	}
	if out := run(nil, "systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...); strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify:\n%s", out)
	}
}
