package envelope

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBareSignVerify is the baseline: one raw signature and its
// verification over 200 bytes, the size of a request's signed part.
func BenchmarkBareSignVerify(b *testing.B) {
	f := getFixture(b)
	msg := make([]byte, 200)
	for _, kt := range keyTypes {
		s := f.signers["A-"+kt]
		b.Run(kt, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var ok bool
				switch k := s.info.PublicKey.(type) {
				case ed25519.PublicKey:
					sig, _ := s.key.Sign(rand.Reader, msg, crypto.Hash(0))
					ok = ed25519.Verify(k, msg, sig)
				case *ecdsa.PublicKey:
					d := sha256.Sum256(msg)
					sig, _ := s.key.Sign(rand.Reader, d[:], crypto.SHA256)
					d = sha256.Sum256(msg)
					ok = ecdsa.VerifyASN1(k, d[:], sig)
				}
				if !ok {
					b.Fatal("verify")
				}
			}
		})
	}
}

// BenchmarkRequest signs and verifies a request envelope (certificate
// check cached, replay cache in use).
func BenchmarkRequest(b *testing.B) {
	f := getFixture(b)
	for _, kt := range keyTypes {
		s := f.signers["A-"+kt]
		b.Run(kt, func(b *testing.B) {
			p := f.policy()
			rc := NewReplayCache(p.MaxSkew, 0)
			r := f.request("A")
			b.ReportAllocs()
			for b.Loop() {
				r.RequestID = NewRequestID()
				sent, err := s.SignRequest(r)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := VerifyRequest(sent.Raw, p, rc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResponse signs and verifies a response envelope.
func BenchmarkResponse(b *testing.B) {
	f := getFixture(b)
	for _, kt := range keyTypes {
		b.Run(kt, func(b *testing.B) {
			sent, err := f.signers["A-"+kt].SignRequest(f.request("A"))
			if err != nil {
				b.Fatal(err)
			}
			s, p := f.signers["B-"+kt], f.policy()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := s.SignResponse(sent, Response{Status: 200, ContentType: "application/json", BodyLength: 1024})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := VerifyResponse(resp.Raw, sent, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReplayCacheParallel marks fresh IDs from all Ps at once, on a
// synthetic clock advancing 200 µs per call (5,000 calls/s), so a 2-minute
// window holds some 600,000 IDs and buckets expire and are reused during
// the run.
func BenchmarkReplayCacheParallel(b *testing.B) {
	c := NewReplayCache(2*time.Minute, 0)
	base := time.Now()
	var tick atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := base.Add(time.Duration(tick.Add(1)) * 200 * time.Microsecond)
			if err := c.Mark(NewRequestID(), now, now); err != nil {
				b.Fatal(err)
			}
		}
	})
}
