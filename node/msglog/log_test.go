package msglog

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/tsa"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Path: "x.db", TSAs: tsas()}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"no path":           func(c *Config) { c.Path = "" },
		"no TSAs":           func(c *Config) { c.TSAs = nil },
		"short key":         func(c *Config) { c.ArchiveKey = make([]byte, 16) },
		"negative interval": func(c *Config) { c.StampInterval = -time.Second },
		"failure < interval": func(c *Config) {
			c.StampInterval, c.AcceptableFailure = time.Hour, time.Minute
		},
		"retention < failure": func(c *Config) { c.Retention = time.Hour },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

func TestAppendValidationAndClose(t *testing.T) {
	l := openLog(t, Config{TSAs: tsas()})
	bad := fakeRecord(1)
	bad.Role = "observer"
	if err := l.Append(bad, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad role: %v", err)
	}
	bad = fakeRecord(1)
	bad.Request = nil
	if err := l.Append(bad, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no request: %v", err)
	}
	if err := l.Append(fakeRecord(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(fakeRecord(2), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := l.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
}

// TestTamperChainRestartAndPrune: the chain survives restarts and pruning,
// and VerifyChain catches records altered in the bbolt file.
func TestTamperChainRestartAndPrune(t *testing.T) {
	_, auth := newTSA(t)
	clk := newClock()
	path := filepath.Join(t.TempDir(), "msglog.db")
	cfg := Config{Path: path, TSAs: tsas(TSA{Name: "local", Stamper: tsa.LocalStamper(auth)}), Now: clk.Now,
		StampMaxRecords: 20, ArchiveKey: bytes.Repeat([]byte{7}, 32), Logger: quiet()}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		if err := l.Append(fakeRecord(i), &Bodies{Request: []byte("in"), Response: []byte("out")}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, l)
	if n, err := l.VerifyChain(); err != nil || n != 50 {
		t.Fatalf("VerifyChain = %d, %v", n, err)
	}
	if err := l.StampNow(context.Background()); err != nil { // batches 1-20, 21-40, 41-50
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: the chain continues.
	clk.Add(48 * time.Hour)
	if l, err = Open(cfg); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.LastSeq != 50 || s.Pending != 0 || s.LastTSA != "local" {
		t.Fatalf("stats after reopen: %+v", s)
	}
	for i := 51; i <= 60; i++ {
		if err := l.Append(fakeRecord(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, l)
	if n, err := l.VerifyChain(); err != nil || n != 60 {
		t.Fatalf("VerifyChain after restart = %d, %v", n, err)
	}
	r50, _ := l.Record(50)
	r51, _ := l.Record(51)
	if !bytes.Equal(r51.PrevHash, r50.Hash) || r51.Seq != 51 {
		t.Fatal("record 51 does not chain to record 50")
	}

	// Prune everything older than a day: the three first batches (records
	// 1-50); 51-60 are not stamped, so they would stay anyway.
	n, err := l.Prune(clk.Now().Add(-24 * time.Hour))
	if err != nil || n != 50 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if n, err := l.VerifyChain(); err != nil || n != 10 {
		t.Fatalf("VerifyChain after prune = %d, %v", n, err)
	}
	if recs, err := l.Records(fakeRecord(7).RequestID); err != nil || len(recs) != 0 {
		t.Fatalf("pruned record still indexed: %v %v", recs, err)
	}
	if _, err := l.Body(7); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned body: %v", err)
	}
	// Nothing prunable is left: unstamped records stay whatever their age.
	if n, err := l.Prune(clk.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second Prune = %d, %v", n, err)
	}
	if err := l.StampNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(cfg); err != nil {
		t.Fatal(err)
	}
	if n, err := l.VerifyChain(); err != nil || n != 10 {
		t.Fatalf("VerifyChain from the anchor after reopen = %d, %v", n, err)
	}
	l.Close()

	// Tampering with the stored records, three ways.
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, b *bolt.Bucket)
	}{
		{"byte changed", func(t *testing.T, b *bolt.Bucket) {
			v := bytes.Clone(b.Get(seqKey(55)))
			i := bytes.Index(v, []byte("GOV/B"))
			v[i+4] = 'C'
			b.Put(seqKey(55), v)
		}},
		{"record rewritten with its hash recomputed", func(t *testing.T, b *bolt.Bucket) {
			r, _ := unmarshalRecord(b.Get(seqKey(55)))
			r.Status = 500
			r.Hash = r.ComputeHash()
			b.Put(seqKey(55), marshalRecord(r))
		}},
		{"last record rewritten and rehashed (batch root)", func(t *testing.T, b *bolt.Bucket) {
			r, _ := unmarshalRecord(b.Get(seqKey(60)))
			r.Client = "VN-TEST/GOV/X/SUBSYS"
			r.Hash = r.ComputeHash()
			b.Put(seqKey(60), marshalRecord(r))
		}},
		{"record deleted", func(t *testing.T, b *bolt.Bucket) { b.Delete(seqKey(57)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "copy.db")
			copyDB(t, path, p)
			db, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { tc.tamper(t, tx.Bucket(bucketRecords)); return nil }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			c := cfg
			c.Path = p
			l, err := Open(c)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if n, err := l.VerifyChain(); !errors.Is(err, ErrChain) {
				t.Fatalf("VerifyChain = %d, %v; want ErrChain", n, err)
			}
		})
	}
}

func copyDB(t *testing.T, from, to string) {
	t.Helper()
	db, err := bolt.Open(from, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error { return tx.CopyFile(to, 0o600) }); err != nil {
		t.Fatal(err)
	}
}

// TestTimestampBatches: records are sealed in contiguous batches of at
// most StampMaxRecords, the proofs match tsa.Batch, and Run stamps as
// soon as StampMaxRecords are pending.
func TestTimestampBatches(t *testing.T) {
	p, auth := newTSA(t)
	stamper := tsa.LocalStamper(auth)
	l := openLog(t, Config{TSAs: tsas(TSA{Name: "local", Stamper: stamper}), StampMaxRecords: 7})
	for i := 1; i <= 30; i++ {
		if err := l.Append(fakeRecord(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, l)
	if s := l.Stats(); s.Pending != 30 || s.OldestUnstamped.IsZero() {
		t.Fatalf("before stamping: %+v", s)
	}
	if err := l.StampNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Pending != 0 || !s.OldestUnstamped.IsZero() || s.LastStamp.IsZero() {
		t.Fatalf("after stamping: %+v", s)
	}
	var got [][2]uint64
	l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketBatches).ForEach(func(_, v []byte) error {
			b, _ := decodeBatch(v)
			got = append(got, [2]uint64{b.First, b.Last})
			return nil
		})
	})
	want := [][2]uint64{{1, 7}, {8, 14}, {15, 21}, {22, 28}, {29, 30}}
	if len(got) != len(want) {
		t.Fatalf("batches %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("batches %v, want %v", got, want)
		}
	}

	// Every record's proof verifies with tsa.VerifyEvidence, and equals
	// what tsa.Batch computes for the same records.
	var tb tsa.Batch
	for seq := uint64(8); seq <= 14; seq++ {
		r, _ := l.Record(seq)
		tb.Add(r.Hash)
	}
	sealed, err := tb.Seal(context.Background(), stamper)
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 30; seq++ {
		b, err := l.EvidenceSeq(context.Background(), seq, p.caChain)
		if err != nil {
			t.Fatal(err)
		}
		ev := tsa.Evidence{RecordHash: b.Record.Hash, Proof: b.Proof, Root: b.MerkleRoot, Token: b.Token}
		if _, err := tsa.VerifyEvidence(ev, tsa.VerifyOptions{Roots: p.roots}); err != nil {
			t.Fatalf("record %d: %v", seq, err)
		}
		if seq >= 8 && seq <= 14 {
			if s := sealed[seq-8]; !bytes.Equal(s.Root, b.MerkleRoot) || s.Proof.Index != b.Proof.Index || len(s.Proof.Path) != len(b.Proof.Path) {
				t.Fatalf("record %d: proof differs from tsa.Batch", seq)
			}
		}
	}

	// Run stamps without waiting for StampInterval once 7 are pending.
	l2 := openLog(t, Config{TSAs: tsas(TSA{Name: "local", Stamper: stamper}), StampMaxRecords: 7, StampInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l2.Run(ctx)
	for i := 1; i <= 7; i++ {
		l2.Append(fakeRecord(i), nil)
	}
	poll(t, "Run to stamp a full batch", func() bool { s := l2.Stats(); return s.Committed == 7 && s.Pending == 0 })
}

// TestTimestampOutage: a TSA outage keeps records pending, Check fails
// after AcceptableFailure (unless FailOpen), and after recovery every
// record is stamped, none lost.
func TestTimestampOutage(t *testing.T) {
	_, auth := newTSA(t)
	for _, failOpen := range []bool{false, true} {
		name := "fail-closed"
		if failOpen {
			name = "fail-open"
		}
		t.Run(name, func(t *testing.T) {
			clk := newClock()
			sw := newSwitch(auth, false)
			l := openLog(t, Config{TSAs: tsas(TSA{Name: "tsa-1", Stamper: sw}), Now: clk.Now, FailOpen: failOpen,
				StampMaxRecords: 8, StampInterval: 100 * time.Millisecond, AcceptableFailure: time.Hour})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go l.Run(ctx)
			for i := 1; i <= 20; i++ {
				if err := l.Append(fakeRecord(i), nil); err != nil {
					t.Fatal(err)
				}
			}
			flush(t, l)
			poll(t, "a failed stamping attempt", func() bool { return l.Stats().LastTSAError != "" })
			if err := l.StampNow(ctx); !errors.Is(err, ErrTimestampOutage) {
				t.Fatalf("StampNow while down: %v", err)
			}
			if err := l.Check(); err != nil {
				t.Fatalf("Check within the acceptable period: %v", err)
			}
			clk.Add(61 * time.Minute)
			// Exchanges go on being logged during the outage.
			for i := 21; i <= 40; i++ {
				if err := l.Append(fakeRecord(i), nil); err != nil {
					t.Fatal(err)
				}
			}
			flush(t, l)
			err := l.Check()
			if failOpen {
				if err != nil {
					t.Fatalf("FailOpen: Check = %v", err)
				}
			} else if !errors.Is(err, ErrTimestampOutage) {
				t.Fatalf("Check after the acceptable period: %v", err)
			} else {
				t.Log(err)
			}
			if s := l.Stats(); s.Pending != 40 {
				t.Fatalf("pending %d, want 40", s.Pending)
			}

			sw.up.Store(true)
			poll(t, "recovery", func() bool { return l.Stats().Pending == 0 })
			if err := l.Check(); err != nil {
				t.Fatalf("Check after recovery: %v", err)
			}
			s := l.Stats()
			if s.Committed != 40 || s.LastSeq != 40 || s.LastTSAError != "" {
				t.Fatalf("after recovery: %+v", s)
			}
			if n, err := l.VerifyChain(); err != nil || n != 40 {
				t.Fatalf("VerifyChain = %d, %v", n, err)
			}
			batches := 0
			l.db.View(func(tx *bolt.Tx) error { batches = tx.Bucket(bucketBatches).Stats().KeyN; return nil })
			if batches < 5 { // 40 records, at most 8 per batch
				t.Fatalf("%d batches for 40 records of at most 8", batches)
			}
		})
	}
}

// TestTimestampFailover: the first TSA failing, the second stamps; over
// HTTP (a 500-answering server, then a real RFC 3161 server) and in
// process.
func TestTimestampFailover(t *testing.T) {
	p, auth := newTSA(t)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	defer broken.Close()
	good := httptest.NewServer(auth.Handler())
	defer good.Close()

	for _, tc := range []struct {
		name string
		list []TSA
	}{
		{"http", []TSA{{Name: "tsa-a", URL: broken.URL}, {Name: "tsa-b", URL: good.URL}}},
		{"in-process", []TSA{{Name: "tsa-a", Stamper: newSwitch(auth, false)}, {Name: "tsa-b", Stamper: newSwitch(auth, true)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, Config{TSAs: tsas(tc.list...)})
			req, resp := p.exchange(t, 200)
			if err := l.Append(record(req, resp, 200), nil); err != nil {
				t.Fatal(err)
			}
			b, err := l.Evidence(context.Background(), req.RequestID.String(), p.caChain)
			if err != nil {
				t.Fatal(err)
			}
			if s := l.Stats(); s.LastTSA != "tsa-b" {
				t.Fatalf("stamped by %q, want tsa-b", s.LastTSA)
			}
			if _, err := VerifyBundle(b, p.roots); err != nil {
				t.Fatal(err)
			}
		})
	}
}
