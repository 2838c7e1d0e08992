package ca

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"golang.org/x/crypto/ocsp"
)

// BenchmarkIssue measures certificates issued per second, including the
// durable database write.
func BenchmarkIssue(b *testing.B) {
	c := newTestCA(b)
	csr := makeCSR(b, ecKey(b), pkix.Name{Organization: []string{"Bench"}})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Issue(ctx, IssueRequest{CSR: csr, Profile: ProfileMemberSign, Member: "GOV/BENCH"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkIssueParallel issues from several goroutines; bbolt serialises
// the writes, so this shows how far batching in the OS page cache helps.
func BenchmarkIssueParallel(b *testing.B) {
	c := newTestCA(b)
	csr := makeCSR(b, ecKey(b), pkix.Name{Organization: []string{"Bench"}})
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Issue(ctx, IssueRequest{CSR: csr, Profile: ProfileMemberSign, Member: "GOV/BENCH"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkOCSP measures signed OCSP responses per second.
func BenchmarkOCSP(b *testing.B) {
	c := newTestCA(b)
	issued, err := c.Issue(context.Background(), IssueRequest{CSR: makeCSR(b, ecKey(b), pkix.Name{Organization: []string{"Bench"}}), Profile: ProfileMemberSign, Member: "GOV/BENCH"})
	if err != nil {
		b.Fatal(err)
	}
	req, err := ocsp.CreateRequest(issued.Chain[0], c.Intermediate(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.OCSP(req)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}

// BenchmarkBaselineDurableWrite is the floor under BenchmarkIssue: one
// fsync'd bbolt transaction writing a record-sized value, which every
// issuance needs before it may return.
func BenchmarkBaselineDurableWrite(b *testing.B) {
	s, err := openStore(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.close()
	val := make([]byte, 1200)
	i := 0
	for b.Loop() {
		i++
		if err := s.db.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCerts).Put([]byte(fmt.Sprintf("%032x", i)), val)
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
