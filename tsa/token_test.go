package tsa

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"log/slog"
	"math/big"
	"strings"
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

// digitorus/timestamp (encoding/asn1), and so any verifier built on it,
// reads tokens under the default policy, with and without certificates.
func TestDigitorusParsesDefaultPolicyToken(t *testing.T) {
	p := newTestPKI(t, "digitorus")
	a := newTestAuthority(t, p, func(c *Config) { c.Accuracy = 1500 * time.Millisecond })
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		for _, certReq := range []bool{true, false} {
			digest := digestOf(h, []byte("x"))
			resp, err := a.Stamp(mustRequest(t, h, digest, RequestOptions{Nonce: big.NewInt(7), CertReq: certReq, Policy: DefaultPolicy}))
			if err != nil {
				t.Fatal(err)
			}
			ts, err := timestamp.ParseResponse(resp)
			if err != nil {
				t.Fatalf("%v certReq=%v: %v", h, certReq, err)
			}
			if ts.HashAlgorithm != h || string(ts.HashedMessage) != string(digest) || ts.Nonce.Int64() != 7 ||
				ts.Accuracy != 1500*time.Millisecond || !ts.Policy.Equal(DefaultPolicy) || ts.Policy.String() != "2.999.3161.1" ||
				ts.SerialNumber.Sign() <= 0 || time.Since(ts.Time) > time.Minute {
				t.Errorf("digitorus parsed %+v", ts)
			}
			// With certificates digitorus also checked the signature.
			if ts.AddTSACertificate != certReq || (len(ts.Certificates) == 2) != certReq {
				t.Errorf("certReq=%v: digitorus saw %d certificates, verified=%v", certReq, len(ts.Certificates), ts.AddTSACertificate)
			}
		}
	}
}

// Policies that encoding/asn1 cannot represent are refused wherever a
// policy is configured, with the reason; short ones are accepted.
func TestPolicyOIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" = rejected
	}{
		{"2.999.3161.1", "2.999.3161.1"},
		{" 1.3.6.1.4.1.99999.1 ", "1.3.6.1.4.1.99999.1"},
		{"1.2.2147483647", "1.2.2147483647"},
		{"1.2.2147483648", ""},
		{uuidPolicy, ""},
		{"2.2147483600", ""}, // first two arcs combine to 80+N, beyond 31 bits
		{"", ""},
		{"1", ""},
		{"1.40", ""},
		{"3.1", ""},
		{"1.2.x", ""},
	} {
		got, err := ParsePolicy(tc.in)
		if tc.want == "" {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("ParsePolicy(%q) = %v, %v; want ErrConfig", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	_, err := ParsePolicy(uuidPolicy)
	if err == nil || !strings.Contains(err.Error(), "encoding/asn1") || !strings.Contains(err.Error(), "2.25.<UUID>") {
		t.Errorf("uuid policy error does not say why: %v", err)
	}

	p := newTestPKI(t, "policy")
	cfg := Config{Signer: p.leafKey, Chain: p.chain(), Policy: asn1.ObjectIdentifier{2, 25, 1 << 40}}
	if err := cfg.Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("Validate with a 41-bit arc: %v", err)
	}
}

// New warns, once, while the example-arc default policy is in use.
func TestDefaultPolicyWarning(t *testing.T) {
	p := newTestPKI(t, "warn")
	for _, tc := range []struct {
		policy asn1.ObjectIdentifier
		warns  int
	}{
		{nil, 1},
		{DefaultPolicy, 1},
		{mustOID("1.3.6.1.4.1.99999.7"), 0},
	} {
		var buf bytes.Buffer
		newTestAuthority(t, p, func(c *Config) {
			c.Policy = tc.policy
			c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		})
		if got := strings.Count(buf.String(), "level=WARN msg=\"default example-arc policy in use"); got != tc.warns {
			t.Errorf("policy %v: %d warnings, want %d:\n%s", tc.policy, got, tc.warns, buf.String())
		}
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
