package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// CrashCopy copies the files under dir to a new temporary directory and
// returns it: what a crash of the process using dir would leave on disk
// (what it had written, not what it still held in memory). Open stores
// of the copy to see what a restart after the crash finds.
func CrashCopy(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
