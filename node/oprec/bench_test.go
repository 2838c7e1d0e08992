package oprec

import (
	"testing"
	"time"
)

// BenchmarkAdd measures the data path and the writer:
//
//   - accept: Add alone from parallel goroutines (metrics + enqueue); with
//     the writer behind, some records may be dropped (reported as
//     dropped/op), which is the intended behaviour under overload.
//   - commit: Add followed by Flush every half queue, so every record is
//     committed; records/s is the sustained group-commit rate to disk.
func BenchmarkAdd(b *testing.B) {
	recs := make([]Record, 1024)
	for i := range recs {
		recs[i] = rec(i, RoleConsumer, memA+"/app", memC+"/reg/getPerson", 200, "")
	}
	b.Run("accept", func(b *testing.B) {
		s := openTest(b, testConfig(b, "", nil))
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r := recs[i%len(recs)]
				r.Start = start.Add(time.Duration(i))
				s.Add(r)
				i++
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
		b.ReportMetric(float64(s.Dropped())/float64(b.N), "dropped/op")
	})
	b.Run("commit", func(b *testing.B) {
		s := openTest(b, testConfig(b, "", nil))
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			r := recs[i%len(recs)]
			r.Start = start.Add(time.Duration(i))
			s.Add(r)
			if i%(DefaultQueueSize/2) == DefaultQueueSize/2-1 {
				flush(b, s)
			}
		}
		flush(b, s)
		b.StopTimer()
		if d := s.Dropped(); d != 0 {
			b.Fatalf("%d records dropped", d)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	})
}
