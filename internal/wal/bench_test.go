package wal

import (
	"context"
	"testing"
)

// BenchmarkDurable appends 1 KiB entries and waits for each to be durable,
// from 64 goroutines (as calls do under load), in both modes; it reports
// entries per fdatasync.
//
//	go test -run '^$' -bench BenchmarkDurable ./internal/wal/
func BenchmarkDurable(b *testing.B) {
	for _, mode := range []struct {
		name string
		m    Mode
	}{{"disk", SyncEach}, {"process", SyncInterval}} {
		b.Run(mode.name, func(b *testing.B) {
			l := open(b, b.TempDir(), func(c *Config) { c.Mode = mode.m })
			defer l.Close()
			payload := make([]byte, 1024)
			b.SetParallelism(32)
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					lsn, err := l.Append(1, payload)
					if err == nil {
						err = l.Durable(context.Background(), lsn)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if s := l.syncs.Load(); s > 0 {
				b.ReportMetric(float64(b.N)/float64(s), "entries/sync")
			}
		})
	}
}
