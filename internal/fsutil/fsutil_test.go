package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteNewNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := WriteNew(path, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(path, []byte("two"), 0o600); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second write: %v", err)
	}
	got, _ := os.ReadFile(path)
	st, _ := os.Stat(path)
	if string(got) != "one" || st.Mode().Perm() != 0o600 {
		t.Fatalf("content %q mode %v", got, st.Mode().Perm())
	}
}
