package msglog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSealedRecordsAtRest: with a SealKey no path, query, user ID or party
// of a record is in the file; the log reads, chains and restarts as
// before; records written in clear before the key stay readable; without
// the key a sealed record does not open.
func TestSealedRecordsAtRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "msglog.db")
	key := bytes.Repeat([]byte{7}, 32)
	secret := []byte("GET /citizens/079201000123?q=needle-in-clear user=citizen-77")

	clear := openLog(t, Config{Path: path, TSAs: tsas()})
	if err := clear.Append(fakeRecord(1), nil); err != nil {
		t.Fatal(err)
	}
	flush(t, clear)
	clear.Close()

	l := openLog(t, Config{Path: path, TSAs: tsas(), SealKey: key})
	r := fakeRecord(2)
	r.Request, r.Client = secret, "VN-TEST/GOV/A/needle-client"
	if err := l.Append(r, nil); err != nil {
		t.Fatal(err)
	}
	flush(t, l)
	l.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"needle-in-clear", "citizen-77", "needle-client"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Fatalf("%q is in the message log file in clear", s)
		}
	}
	if !bytes.Contains(raw, []byte("request envelope 1")) {
		t.Fatal("the record written before the key is not where it was (test premise)")
	}

	l = openLog(t, Config{Path: path, TSAs: tsas(), SealKey: key})
	got, err := l.Records(r.RequestID)
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].Request, secret) || got[0].Client != r.Client {
		t.Fatalf("sealed record read back: %v %+v", err, got)
	}
	if old, err := l.Records(fakeRecord(1).RequestID); err != nil || len(old) != 1 {
		t.Fatalf("clear record read back: %v %v", err, old)
	}
	if n, err := l.VerifyChain(); err != nil || n != 2 {
		t.Fatalf("chain over a clear and a sealed record: %d, %v", n, err)
	}
	if err := l.Append(fakeRecord(3), nil); err != nil { // the chain head was read back from a sealed record
		t.Fatal(err)
	}
	flush(t, l)
	if n, err := l.VerifyChain(); err != nil || n != 3 {
		t.Fatalf("chain after appending to a sealed head: %d, %v", n, err)
	}
	l.Close()

	if _, err := Open(Config{Path: path, TSAs: tsas(), Logger: quiet()}); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("opening a sealed log without its key: %v, want ErrDecrypt", err)
	}
	if _, err := Open(Config{Path: path, TSAs: tsas(), Logger: quiet(), SealKey: bytes.Repeat([]byte{8}, 32)}); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("opening a sealed log with another key: %v, want ErrDecrypt", err)
	}
}
