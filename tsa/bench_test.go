package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func reportRate(b *testing.B, start time.Time) {
	if el := time.Since(start).Seconds(); el > 0 {
		b.ReportMetric(float64(b.N)/el, "tokens/s")
	}
}

// BenchmarkStamp measures Authority.Stamp (parse, serial, TSTInfo, CMS
// signature) for a SHA-256 request with nonce and certReq.
func BenchmarkStamp(b *testing.B) {
	p := newTestPKI(b, "bench")
	a := newTestAuthority(b, p, nil)
	for _, certReq := range []bool{false, true} {
		req := mustRequest(b, crypto.SHA256, digestOf(crypto.SHA256, []byte("bench")),
			RequestOptions{Nonce: big.NewInt(1<<62 + 12345), CertReq: certReq})
		name := "certreq=" + map[bool]string{false: "false", true: "true"}[certReq]
		b.Run(name+"/sequential", func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := a.Stamp(req); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, start)
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := a.Stamp(req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b, start)
		})
	}
}

// BenchmarkHTTP measures the whole RFC 3161 HTTP round trip over loopback
// with keep-alive connections, requests in parallel.
func BenchmarkHTTP(b *testing.B) {
	p := newTestPKI(b, "bench-http")
	a := newTestAuthority(b, p, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req := mustRequest(b, crypto.SHA256, digestOf(crypto.SHA256, []byte("bench")),
		RequestOptions{Nonce: big.NewInt(99), CertReq: true})
	b.SetParallelism(4)
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			resp, err := client.Post(srv.URL+"/", ContentTypeQuery, bytes.NewReader(req))
			if err != nil {
				b.Error(err)
				return
			}
			buf.Reset()
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	reportRate(b, start)
}

// BenchmarkVerify measures Verify (digitorus parsing, CMS signature, ESS
// binding, chain) of a token with and without certificates.
func BenchmarkVerify(b *testing.B) {
	p := newTestPKI(b, "bench-verify")
	a := newTestAuthority(b, p, nil)
	d := digestOf(crypto.SHA256, []byte("bench"))
	for _, certReq := range []bool{false, true} {
		resp, err := a.Stamp(mustRequest(b, crypto.SHA256, d, RequestOptions{Nonce: big.NewInt(7), CertReq: certReq}))
		if err != nil {
			b.Fatal(err)
		}
		opts := VerifyOptions{Roots: p.roots, Intermediates: p.inters, TSACert: p.leaf, Digest: d, Hash: crypto.SHA256, Nonce: big.NewInt(7)}
		b.Run("certreq="+map[bool]string{false: "false", true: "true"}[certReq], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Verify(resp, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBaselineECDSASign is the floor under BenchmarkStamp: one bare
// ECDSA P-256 signature over a SHA-256 digest, the only unavoidable cost of
// a token. Compare tokens/s against signatures/s from the same run.
func BenchmarkBaselineECDSASign(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("bench"))
	start := time.Now()
	for b.Loop() {
		if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signatures/s")
}
