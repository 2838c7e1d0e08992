package msglog

import (
	"context"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/tsa"
)

// BenchmarkAppend measures committed appends: b.N appends from parallel
// goroutines, then Flush (group commit, one fsync per transaction), and
// the bytes stored per record (envelopes without their certificates).
func BenchmarkAppend(b *testing.B) {
	p, auth := newTSA(b)
	l := openLog(b, Config{TSAs: tsas(TSA{Name: "local", Stamper: tsa.LocalStamper(auth)})})
	req, resp := p.exchange(b, 200)
	r := record(req, resp, 200)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Append(r, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
	var stored int64
	_ = l.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).ForEach(func(_, v []byte) error { stored += int64(len(v)); return nil })
	})
	b.ReportMetric(float64(stored)/float64(b.N), "stored-B/record")
	whole := r
	whole.PrevHash = make([]byte, 32)
	b.ReportMetric(float64(len(marshalRecord(&whole))), "whole-B/record") // with the certificates, for comparison
}

func BenchmarkVerifyBundle(b *testing.B) {
	bundle, _, p := tamperBundle(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := VerifyBundle(bundle, p.roots); err != nil {
			b.Fatal(err)
		}
	}
}
