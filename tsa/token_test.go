package tsa

import (
	"crypto"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

func TestStampHappyPath(t *testing.T) {
	p := newTestPKI(t, "happy")
	a := newTestAuthority(t, p, nil)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run(hashName(h), func(t *testing.T) {
			digest := digestOf(h, []byte("hello "+hashName(h)))
			nonce := big.NewInt(0x1234567890)
			resp, err := a.Stamp(mustRequest(t, h, digest, RequestOptions{Nonce: nonce, CertReq: true}))
			if err != nil {
				t.Fatal(err)
			}
			info, err := Verify(resp, VerifyOptions{Roots: p.roots, Digest: digest, Hash: h, Nonce: nonce, Policy: DefaultPolicy})
			if err != nil {
				t.Fatal(err)
			}
			if info.Hash != h || info.Nonce.Cmp(nonce) != 0 || !info.Policy.Equal(DefaultPolicy) {
				t.Errorf("info = %+v", info)
			}
			if info.Accuracy != time.Second {
				t.Errorf("accuracy = %v", info.Accuracy)
			}
			if d := time.Since(info.Time); d < 0 || d > time.Minute {
				t.Errorf("genTime %v too far from now", info.Time)
			}
			if info.TSAName == "" || info.Signer == nil || len(info.Chain) != 3 {
				t.Errorf("TSAName=%q signer=%v chain=%d", info.TSAName, info.Signer != nil, len(info.Chain))
			}
			// Intermediate sent, root not.
			if len(info.Certificates) != 2 {
				t.Errorf("token carries %d certificates, want leaf+intermediate", len(info.Certificates))
			}
		})
	}
}

// With a short policy OID, digitorus/timestamp (encoding/asn1) reads our
// tokens too, so the TSTInfo encoding matches what it expects.
func TestDigitorusParsesShortPolicyToken(t *testing.T) {
	p := newTestPKI(t, "digitorus")
	pol := mustOID("1.3.6.1.4.1.99999.7")
	a := newTestAuthority(t, p, func(c *Config) { c.Policy = pol; c.Accuracy = 1500 * time.Millisecond })
	digest := digestOf(crypto.SHA256, []byte("x"))
	resp, err := a.Stamp(mustRequest(t, crypto.SHA256, digest, RequestOptions{Nonce: big.NewInt(7), CertReq: true, Policy: pol}))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if ts.HashAlgorithm != crypto.SHA256 || string(ts.HashedMessage) != string(digest) || ts.Nonce.Int64() != 7 ||
		ts.Accuracy != 1500*time.Millisecond || ts.Policy.String() != "1.3.6.1.4.1.99999.7" || ts.SerialNumber.Sign() <= 0 {
		t.Errorf("digitorus parsed %+v", ts)
	}
	// And digitorus cannot read the default 2.25 policy, which is why we
	// parse tokens ourselves.
	resp2, _ := newTestAuthority(t, p, nil).Stamp(mustRequest(t, crypto.SHA256, digest, RequestOptions{CertReq: true}))
	if _, err := timestamp.ParseResponse(resp2); err == nil {
		t.Log("digitorus now parses 2.25 policies; the workaround in cms.go may be unnecessary")
	}
}

func TestSerialsIncrease(t *testing.T) {
	p := newTestPKI(t, "serial")
	a := newTestAuthority(t, p, nil)
	digest := digestOf(crypto.SHA256, nil)
	var last *big.Int
	for i := 0; i < 5; i++ {
		resp, err := a.Stamp(mustRequest(t, crypto.SHA256, digest, RequestOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		info, err := ParseToken(resp)
		if err != nil {
			t.Fatal(err)
		}
		if last != nil && info.Serial.Cmp(last) <= 0 {
			t.Fatalf("serial %v after %v", info.Serial, last)
		}
		last = info.Serial
	}
}

func TestCertReqFalse(t *testing.T) {
	p := newTestPKI(t, "nocert")
	a := newTestAuthority(t, p, nil)
	digest := digestOf(crypto.SHA256, []byte("no certs"))
	resp, err := a.Stamp(mustRequest(t, crypto.SHA256, digest, RequestOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	info, err := ParseToken(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Certificates) != 0 || info.Signer != nil {
		t.Fatalf("token without certReq carries %d certificates", len(info.Certificates))
	}
	opts := VerifyOptions{Roots: p.roots, Digest: digest, Hash: crypto.SHA256}
	if _, err := Verify(resp, opts); !errors.Is(err, ErrSignerCert) {
		t.Fatalf("Verify without TSACert: %v, want ErrSignerCert", err)
	}
	opts.TSACert = p.leaf
	if _, err := Verify(resp, opts); !errors.Is(err, ErrChain) {
		t.Fatalf("Verify without intermediates: %v, want ErrChain", err)
	}
	opts.Intermediates = p.inters
	if _, err := Verify(resp, opts); err != nil {
		t.Fatalf("Verify with TSACert: %v", err)
	}
}

func TestStampConcurrent(t *testing.T) {
	p := newTestPKI(t, "concurrent")
	a := newTestAuthority(t, p, nil)
	const workers, each = 4, 25
	type result struct {
		serial string
		err    error
	}
	results := make(chan result, workers*each)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				d := digestOf(crypto.SHA256, []byte{byte(w), byte(i)})
				resp, err := a.Stamp(mustRequest(t, crypto.SHA256, d, RequestOptions{CertReq: i%2 == 0}))
				if err != nil {
					results <- result{err: err}
					continue
				}
				opts := VerifyOptions{Roots: p.roots, Intermediates: p.inters, TSACert: p.leaf, Digest: d, Hash: crypto.SHA256}
				info, err := Verify(resp, opts)
				if err != nil {
					results <- result{err: err}
					continue
				}
				results <- result{serial: info.Serial.String()}
			}
		}()
	}
	seen := make(map[string]bool)
	for i := 0; i < workers*each; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if seen[r.serial] {
			t.Fatalf("serial %s issued twice", r.serial)
		}
		seen[r.serial] = true
	}
}
