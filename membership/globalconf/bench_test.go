package globalconf

import (
	"context"
	"crypto"
	"crypto/x509"
	"testing"
	"time"
)

// benchDoc is a realistic national-scale document: 500 members, each with a
// subsystem and a node, 1000 services, 50 revoked serials.
func benchDoc(b *testing.B, p *testPKI, issued time.Time) *Document {
	return sampleDoc(b, p, 1234, issued, 500, 1000)
}

// BenchmarkSignVerify measures the registry's cost of signing (canonical
// encoding included) and a node's cost of verifying a realistic document.
func BenchmarkSignVerify(b *testing.B) {
	p, _ := pkis(b)
	issued := time.Now().UTC()
	for _, alg := range []struct {
		name string
		key  crypto.Signer
		cert *x509.Certificate
	}{{AlgECDSASHA256, p.ecKey, p.ecCert}, {AlgEd25519, p.edKey, p.edCert}} {
		d := benchDoc(b, p, issued)
		anchor := anchorFor(b, p)
		anchor.Signers = append(anchor.Signers, p.edCert)
		raw := signDocWith(b, d, alg.key, alg.cert)
		cfg, _ := d.Canonical()
		b.Run("Sign/"+alg.name, func(b *testing.B) {
			b.SetBytes(int64(len(cfg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(d, alg.key, []*x509.Certificate{alg.cert}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(cfg)), "config-bytes")
			b.ReportMetric(float64(len(raw)), "signed-bytes")
		})
		b.Run("Verify/"+alg.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			now := issued.Add(time.Minute)
			for b.Loop() {
				if _, err := Verify(raw, anchor, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw)), "signed-bytes")
		})
	}
}

// BenchmarkFetchVerify measures a node fetching the realistic document over
// loopback TLS 1.3 (keep-alive), verifying it and caching it (temp file,
// fsync, rename) — "full" — or only verifying ("nocache"); and the
// If-None-Match → 304 round trip a node makes on every poll when nothing
// changed ("not-modified").
func BenchmarkFetchVerify(b *testing.B) {
	p, _ := pkis(b)
	issued := time.Now().UTC()
	srv := newRegServer(b, p.serverTLS)
	raw := signDoc(b, p, benchDoc(b, p, issued))
	srv.set(raw, 1234)
	anchor := anchorFor(b, p, srv.URL)
	for _, tc := range []struct {
		name  string
		cache bool
		keep  bool
	}{{"full", true, false}, {"nocache", false, false}, {"not-modified", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := ""
			if tc.cache {
				dir = b.TempDir()
			}
			c, err := NewClient(anchor, dir, WithLogger(quiet), WithClock(func() time.Time { return issued.Add(time.Minute) }))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			if _, err := c.Fetch(ctx); err != nil { // warm the connection
				b.Fatal(err)
			}
			if !tc.keep {
				b.SetBytes(int64(len(raw)))
			}
			b.ReportAllocs()
			for b.Loop() {
				if !tc.keep {
					c.mu.Lock()
					c.held = nil
					c.mu.Unlock()
				}
				if _, err := c.Fetch(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
