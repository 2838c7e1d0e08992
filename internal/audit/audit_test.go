package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const bucket = "audit_log"

func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// clock returns a deterministic clock ticking one second per call.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2025, 3, 1, 8, 0, 0, 123456789, time.FixedZone("ICT", 7*3600))
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// newLog opens a log in a fresh database with n entries.
func newLog(t *testing.T, n int) (*Log, *bolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "node.db")
	db := openDB(t, path)
	t.Cleanup(func() { db.Close() })
	l, err := Open(db, bucket, clock())
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append("alice", "acl.grant", fmt.Sprintf("svc-%d", i), "client GOV/1 may call"); err != nil {
			t.Fatal(err)
		}
	}
	return l, db, path
}

// TestHashVector freezes the hash encoding: an export written today must
// verify with every later release.
func TestHashVector(t *testing.T) {
	e := Entry{Seq: 2, Time: time.Unix(1700000000, 5).UTC(), Actor: "alice", Action: "acl.grant", Target: "t", Detail: "d",
		PrevHash: bytes.Repeat([]byte{0xab}, 32)}
	const want = "c781b3fb8c488ebe9524ef2abd57dafda49b76d5352325facc9dc95642e9bb2e"
	if got := hex.EncodeToString(e.ComputeHash()); got != want {
		t.Fatalf("hash %s, want %s (the encoding changed?)", got, want)
	}
	// Fields are length-prefixed: moving a byte between fields changes the hash.
	f := e
	f.Actor, f.Action = "alicea", "cl.grant"
	if bytes.Equal(f.ComputeHash(), e.ComputeHash()) {
		t.Fatal("field boundary not in the hash")
	}
}

func TestAppendRestartVerify(t *testing.T) {
	l, db, path := newLog(t, 3)
	got, err := l.List(1, 0)
	if err != nil || len(got) != 3 {
		t.Fatalf("list: %d %v", len(got), err)
	}
	if got[0].Seq != 1 || got[0].PrevHash != nil || !bytes.Equal(got[1].PrevHash, got[0].Hash) || got[2].Seq != 3 {
		t.Fatalf("chain: %+v", got)
	}
	if got[0].Time.Location() != time.UTC || got[0].Time.Nanosecond() != 123456789 {
		t.Fatalf("time %v", got[0].Time)
	}
	if n, err := l.VerifyAll(); n != 3 || err != nil {
		t.Fatalf("verify: %d %v", n, err)
	}
	if _, err := l.Append("", "x", "", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no actor: %v", err)
	}
	if _, err := l.Append("a", "x", "", strings.Repeat("x", MaxField+1)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("long detail: %v", err)
	}

	// Reopen the database: the chain continues.
	db.Close()
	db = openDB(t, path)
	t.Cleanup(func() { db.Close() })
	l, err = Open(db, bucket, clock())
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Append("bob", "key.rotate", "", "")
	if err != nil || e.Seq != 4 || !bytes.Equal(e.PrevHash, got[2].Hash) {
		t.Fatalf("append after restart: %+v %v", e, err)
	}
	if n, err := l.VerifyAll(); n != 4 || err != nil {
		t.Fatalf("verify after restart: %d %v", n, err)
	}
	page, err := l.List(2, 2)
	if err != nil || len(page) != 2 || page[0].Seq != 2 || page[1].Seq != 3 {
		t.Fatalf("list(2,2): %+v %v", page, err)
	}
	if page, _ := l.List(9, 0); len(page) != 0 {
		t.Fatalf("list past the end: %+v", page)
	}
}

func TestAppendConcurrent(t *testing.T) {
	l, _, _ := newLog(t, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := l.Append(fmt.Sprint("op", i), "x", "", ""); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, err := l.VerifyAll(); n != 40 || err != nil {
		t.Fatalf("verify: %d %v", n, err)
	}
}

// tamper rewrites the stored bucket with fn, bypassing the log.
func tamper(t *testing.T, db *bolt.DB, fn func(b *bolt.Bucket)) {
	t.Helper()
	if err := db.Update(func(tx *bolt.Tx) error { fn(tx.Bucket([]byte(bucket))); return nil }); err != nil {
		t.Fatal(err)
	}
}

func rewrite(t *testing.T, b *bolt.Bucket, seq uint64, fn func(e *Entry)) {
	t.Helper()
	var e Entry
	if err := json.Unmarshal(b.Get(seqKey(seq)), &e); err != nil {
		t.Fatal(err)
	}
	fn(&e)
	v, _ := json.Marshal(&e)
	if err := b.Put(seqKey(seq), v); err != nil {
		t.Fatal(err)
	}
}

func TestAuditTamperDetected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fn      func(t *testing.T, b *bolt.Bucket)
		wantSeq string
	}{
		{"changed detail", func(t *testing.T, b *bolt.Bucket) {
			rewrite(t, b, 2, func(e *Entry) { e.Detail = "nothing happened" })
		}, "seq 2"},
		{"changed and rehashed", func(t *testing.T, b *bolt.Bucket) {
			rewrite(t, b, 2, func(e *Entry) { e.Actor = "mallory"; e.Hash = e.ComputeHash() })
		}, "seq 3"},
		{"changed time", func(t *testing.T, b *bolt.Bucket) {
			rewrite(t, b, 1, func(e *Entry) { e.Time = e.Time.Add(-time.Hour) })
		}, "seq 1"},
		{"deleted", func(t *testing.T, b *bolt.Bucket) {
			if err := b.Delete(seqKey(2)); err != nil {
				t.Fatal(err)
			}
		}, "seq 3"},
		{"moved", func(t *testing.T, b *bolt.Bucket) {
			v := bytes.Clone(b.Get(seqKey(3)))
			b.Delete(seqKey(3))
			b.Put(seqKey(7), v)
		}, "seq 4 follows seq 2"},
		{"garbage", func(t *testing.T, b *bolt.Bucket) { b.Put(seqKey(2), []byte("{")) }, "undecodable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, db, _ := newLog(t, 4)
			tamper(t, db, func(b *bolt.Bucket) { tc.fn(t, b) })
			n, err := l.VerifyAll()
			if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), tc.wantSeq) {
				t.Fatalf("VerifyAll after tampering: %d %v", n, err)
			}
			// The export of a tampered log does not verify either.
			var buf bytes.Buffer
			if err := l.Export(&buf); err != nil && !errors.Is(err, ErrChain) {
				t.Fatal(err)
			} else if err == nil {
				if _, err := Verify(&buf); !errors.Is(err, ErrChain) {
					t.Fatalf("Verify of a tampered export: %v", err)
				}
			}
		})
	}
}

func TestExportVerifyRoundTrip(t *testing.T) {
	l, _, _ := newLog(t, 5)
	var buf bytes.Buffer
	if err := l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], `{"seq":1,`) || !strings.HasPrefix(lines[4], `{"seq":5,`) {
		t.Fatalf("export:\n%s", buf.String())
	}
	if n, err := Verify(bytes.NewReader(buf.Bytes())); n != 5 || err != nil {
		t.Fatalf("verify: %d %v", n, err)
	}
	if n, err := Verify(strings.NewReader("")); n != 0 || err != nil {
		t.Fatalf("empty export: %d %v", n, err)
	}
	// An empty log exports nothing.
	empty, _, _ := newLog(t, 0)
	var none bytes.Buffer
	if err := empty.Export(&none); err != nil || none.Len() != 0 {
		t.Fatalf("empty export: %q %v", none.String(), err)
	}
}

func TestAuditTamperChangedExport(t *testing.T) {
	l, _, _ := newLog(t, 4)
	var buf bytes.Buffer
	if err := l.Export(&buf); err != nil {
		t.Fatal(err)
	}
	export := buf.String()
	lines := strings.SplitAfter(export, "\n")
	for _, tc := range []struct{ name, export, want string }{
		{"changed target byte", strings.Replace(export, "svc-2", "svc-9", 1), "seq 3"},
		{"changed actor byte", strings.Replace(export, `"actor":"alice"`, `"actor":"alicf"`, 1), "seq 1"},
		{"changed key", strings.Replace(export, `"detail"`, `"detaim"`, 1), "entry 1"},
		{"dropped line", lines[0] + lines[2] + lines[3], "seq 3 follows seq 1"},
		{"swapped lines", lines[0] + lines[2] + lines[1] + lines[3], "seq 3 follows seq 1"},
		{"missing start", lines[1] + lines[2], "seq 2 follows seq 0"},
		{"truncated line", export[:len(export)-10], "entry 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.export == export {
				t.Fatal("test did not change the export")
			}
			_, err := Verify(strings.NewReader(tc.export))
			if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrChain naming %q", err, tc.want)
			}
		})
	}
	// Every single-byte change inside a value is caught.
	for i := range len(lines[1]) - 1 {
		b := []byte(export)
		pos := len(lines[0]) + i
		if b[pos] == '"' || b[pos] == '\\' {
			continue
		}
		b[pos] ^= 0x01
		if _, err := Verify(bytes.NewReader(b)); err == nil {
			// Only insignificant changes may pass (none exist in Export's compact form).
			t.Fatalf("byte %d changed (%q) and the export still verifies:\n%s", i, b[pos], b[len(lines[0]):len(lines[0])+len(lines[1])])
		}
	}
}
