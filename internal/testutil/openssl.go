package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// OpenSSL returns a function that runs the openssl binary in dir and returns
// its combined output, failing the test on a non-zero exit. Without openssl
// on PATH the test is skipped, except under CI (CI set), where it fails:
// .ci/run installs openssl, so a missing one there is a broken setup.
func OpenSSL(t testing.TB, dir string) func(args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not found on PATH under CI")
		}
		t.Skip("openssl not found on PATH")
	}
	return func(args ...string) string {
		t.Helper()
		out, err := RunOpenSSL(bin, dir, args...)
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
}

// RunOpenSSL runs openssl and returns its combined output and error, for
// tests that expect a failure.
func RunOpenSSL(bin, dir string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
