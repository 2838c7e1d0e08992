package msglog

import (
	"context"
	"testing"
	"time"

	"github.com/dxl-network/dxl/tsa"
)

// BenchmarkAppend measures committed appends: b.N appends from parallel
// goroutines, then Flush (group commit, one fsync per transaction).
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
