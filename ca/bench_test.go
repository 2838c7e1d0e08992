package ca

import (
	"context"
	"crypto/x509/pkix"
	"testing"

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
