package archive

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sample(t testing.TB) []byte {
	t.Helper()
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub", "skipped"), 0o700)
	os.WriteFile(filepath.Join(src, "a.json"), []byte(`{"a":1}`), 0o600)
	os.WriteFile(filepath.Join(src, "sub", "b.key"), []byte("sealed"), 0o600)
	os.WriteFile(filepath.Join(src, "sub", "skipped", "c"), []byte("not kept"), 0o600)
	var buf bytes.Buffer
	w := NewWriter(&buf, "test-v1", time.Unix(1e9, 0))
	if err := w.AddTree(src, []string{"sub/skipped"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add("db", 3, func(w io.Writer) error { _, err := w.Write([]byte("xyz")); return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(map[string]int{"seq": 7}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	m, err := Extract(bytes.NewReader(sample(t)), dir, "test-v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 3 || strings.Join(strings.Fields(string(m.Meta)), "") != `{"seq":7}` {
		t.Fatalf("manifest %+v", m)
	}
	for name, want := range map[string]string{"a.json": `{"a":1}`, "sub/b.key": "sealed", "db": "xyz"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sub", "skipped")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("skipped directory restored: %v", err)
	}
	if _, err := Extract(bytes.NewReader(sample(t)), dir, "test-v1"); !errors.Is(err, ErrBad) || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("extract over a directory: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	good := sample(t)
	for name, raw := range map[string][]byte{
		"cut":          good[:len(good)/2],
		"other format": good,
		"changed":      bytes.Replace(good, []byte("sealed"), []byte("SEALED"), 1),
	} {
		dir := filepath.Join(t.TempDir(), "out")
		format := "test-v1"
		if name == "other format" {
			format = "test-v2"
		}
		if _, err := Extract(bytes.NewReader(raw), dir, format); !errors.Is(err, ErrBad) {
			t.Errorf("%s: %v, want ErrBad", name, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: left %s behind", name, dir)
		}
	}
}

// FuzzExtract: any archive either extracts, every file matching its
// manifest, or is refused with ErrBad (or a file system error) and leaves
// nothing behind; never a file outside the directory.
func FuzzExtract(f *testing.F) {
	f.Add(sample(f))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "out")
		_, err := Extract(bytes.NewReader(raw), dir, "test-v1")
		entries, _ := os.ReadDir(root)
		if err != nil && len(entries) != 0 {
			t.Fatalf("refused (%v) but left %d entries", err, len(entries))
		}
		if err == nil && len(entries) != 1 {
			t.Fatalf("extracted, and %d entries beside the directory", len(entries))
		}
	})
}
