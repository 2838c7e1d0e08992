package keystore

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRoundTrip(t *testing.T) {
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "k.pem")
	if err := WriteFile(path, key, []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("PRIVATE KEY-----\nMI")) || !strings.Contains(string(raw), PEMType) {
		t.Fatalf("file does not look sealed:\n%s", raw)
	}
	got, err := ReadFile(path, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.(*ecdsa.PrivateKey).Equal(key) {
		t.Fatal("round trip changed the key")
	}
	if err := WriteFile(path, key, []byte("x")); err == nil {
		t.Fatal("WriteFile overwrote an existing key")
	}
}

func TestOpenRejects(t *testing.T) {
	key, _ := GenerateKey()
	sealed, err := Seal(key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(sealed, []byte("wrong")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := Open(sealed, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("empty passphrase: %v", err)
	}
	if _, err := Seal(key, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Fatalf("seal empty passphrase: %v", err)
	}
	// A changed KDF header is caught by the AAD even when it still parses.
	tampered := bytes.Replace(sealed, []byte("R: 8"), []byte("R: 9"), 1)
	if _, err := Open(tampered, []byte("pw")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered header: %v", err)
	}
	huge := bytes.Replace(sealed, []byte("N: 32768"), []byte("N: 1073741824"), 1)
	if _, err := Open(huge, []byte("pw")); !errors.Is(err, ErrFormat) {
		t.Fatalf("oversized KDF cost: %v", err)
	}
	if _, err := Open([]byte("not pem"), []byte("pw")); !errors.Is(err, ErrFormat) {
		t.Fatalf("garbage: %v", err)
	}
}
