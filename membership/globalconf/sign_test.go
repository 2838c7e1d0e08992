package globalconf

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSignVerifyRoundTrip: each supported key type signs, and Verify
// returns the same canonical document.
func TestSignVerifyRoundTrip(t *testing.T) {
	p, _ := pkis(t)
	now := time.Now().UTC()
	for _, tc := range []struct {
		alg  string
		key  crypto.Signer
		cert *x509.Certificate
	}{
		{AlgECDSASHA256, p.ecKey, p.ecCert},
		{AlgEd25519, p.edKey, p.edCert},
		{AlgRSAPSSSHA256, p.rsaKey, p.rsaCert},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			a := anchorFor(t, p)
			a.Signers = append(a.Signers, p.edCert, p.rsaCert)
			d := sampleDoc(t, p, 9, now, 20, 30)
			raw := signDocWith(t, d, tc.key, tc.cert)
			var s Signed
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			if s.Algorithm != tc.alg || !bytes.Equal(s.Certificate, tc.cert.Raw) {
				t.Fatalf("algorithm %q certificate match %v", s.Algorithm, bytes.Equal(s.Certificate, tc.cert.Raw))
			}
			got, err := Verify(raw, a, now.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := d.Canonical()
			if b, _ := got.Canonical(); !bytes.Equal(b, want) || !bytes.Equal(b, s.Config) {
				t.Fatal("verified document differs from the signed one")
			}
			if got.Version != 9 || got.Instance != testInstance || len(got.Members) != 20 {
				t.Fatalf("unexpected document %d %s %d", got.Version, got.Instance, len(got.Members))
			}
		})
	}
}

// reSign replaces the config bytes of a signed form and re-signs them with
// p's ECDSA signer.
func reSign(t *testing.T, p *testPKI, raw []byte, edit func(config []byte) []byte) []byte {
	t.Helper()
	var s Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	return signRaw(t, p.ecKey, p.ecCert, edit(s.Config))
}

// editSigned changes the decoded wire form and re-marshals it without
// re-signing.
func editSigned(t *testing.T, raw []byte, edit func(s *Signed)) []byte {
	t.Helper()
	var s Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	out, _ := s.Marshal()
	return out
}

// TestVerifyRejects: one broken property at a time, each with its sentinel.
func TestVerifyRejects(t *testing.T) {
	p, other := pkis(t)
	now := time.Now().UTC()
	doc := func() *Document { return sampleDoc(t, p, 5, now, 5, 5) }
	good := signDoc(t, p, doc())
	anchor := anchorFor(t, p)
	if _, err := Verify(good, anchor, now); err != nil {
		t.Fatal(err)
	}
	// A signer of another CA, listed in the anchor: chain check fails.
	otherListed := anchorFor(t, p)
	otherListed.Signers = append(otherListed.Signers, other.ecCert)
	vnAnchor := anchorFor(t, p)
	vnAnchor.Instance = "VN"

	cases := []struct {
		name   string
		raw    func() []byte
		anchor *Anchor
		now    time.Time
		want   error
	}{
		{"tampered config byte", func() []byte {
			return editSigned(t, good, func(s *Signed) { s.Config[len(s.Config)/2] ^= 0x01 })
		}, anchor, now, ErrSignature},
		{"tampered version", func() []byte {
			return editSigned(t, good, func(s *Signed) {
				s.Config = bytes.Replace(s.Config, []byte(`"version":5`), []byte(`"version":6`), 1)
			})
		}, anchor, now, ErrSignature},
		{"tampered signature", func() []byte {
			return editSigned(t, good, func(s *Signed) { s.Signature[5] ^= 0x80 })
		}, anchor, now, ErrSignature},
		{"algorithm label mismatch", func() []byte {
			return editSigned(t, good, func(s *Signed) { s.Algorithm = AlgEd25519 })
		}, anchor, now, ErrSignature},
		{"unknown algorithm", func() []byte {
			return editSigned(t, good, func(s *Signed) { s.Algorithm = "ecdsa-sha1" })
		}, anchor, now, ErrSignature},
		{"no domain separation", func() []byte {
			// A valid ECDSA signature over the bare canonical bytes.
			return editSigned(t, good, func(s *Signed) {
				h := sha256Sum(s.Config)
				s.Signature, _ = p.ecKey.Sign(rand.Reader, h, crypto.SHA256)
			})
		}, anchor, now, ErrSignature},
		{"signer not in anchor", func() []byte { return signDocWith(t, doc(), p.edKey, p.edCert) }, anchor, now, ErrUnknownSigner},
		{"signer of another CA, not in anchor", func() []byte {
			return signRaw(t, other.ecKey, other.ecCert, mustCanonical(t, doc()))
		}, anchor, now, ErrUnknownSigner},
		{"signer of another CA, in anchor", func() []byte {
			return signRaw(t, other.ecKey, other.ecCert, mustCanonical(t, doc()))
		}, otherListed, now, ErrChain},
		{"signer certificate expired at now", func() []byte { return good }, anchor, p.ecCert.NotAfter.Add(time.Hour), ErrChain},
		{"CA chain without the intermediate", func() []byte {
			d := doc()
			d.CAChain = [][]byte{p.root.Raw}
			return signRaw(t, p.ecKey, p.ecCert, mustCanonical(t, d))
		}, anchor, now, ErrChain},
		{"wrong instance", func() []byte { return good }, vnAnchor, now, ErrInstance},
		{"indented config", func() []byte {
			return reSign(t, p, good, func(c []byte) []byte {
				var b bytes.Buffer
				json.Indent(&b, c, "", " ")
				return b.Bytes()
			})
		}, anchor, now, ErrNotCanonical},
		{"unsorted members", func() []byte {
			return reSign(t, p, good, func(c []byte) []byte {
				var d Document
				json.Unmarshal(c, &d)
				d.Members[0], d.Members[1] = d.Members[1], d.Members[0]
				b, _ := json.Marshal(&d)
				return b
			})
		}, anchor, now, ErrNotCanonical},
		{"time not in UTC", func() []byte {
			return reSign(t, p, good, func(c []byte) []byte {
				var d Document
				json.Unmarshal(c, &d)
				d.IssuedAt = d.IssuedAt.In(time.FixedZone("ICT", 7*3600))
				b, _ := json.Marshal(&d)
				return b
			})
		}, anchor, now, ErrNotCanonical},
		{"null list", func() []byte {
			return reSign(t, p, good, func(c []byte) []byte {
				return bytes.Replace(c, []byte(`"registry_servers":[]`), []byte(`"registry_servers":null`), 1)
			})
		}, anchor, now, ErrNotCanonical},
		{"unknown field in document", func() []byte {
			return reSign(t, p, good, func(c []byte) []byte {
				return bytes.Replace(c, []byte(`{"format":1,`), []byte(`{"format":1,"extra":true,`), 1)
			})
		}, anchor, now, ErrMalformed},
		{"version zero", func() []byte {
			return reSign(t, p, good, func(c []byte) []byte {
				return bytes.Replace(c, []byte(`"version":5`), []byte(`"version":0`), 1)
			})
		}, anchor, now, ErrMalformed},
		{"duplicate member", func() []byte {
			d := doc()
			d.Normalize()
			d.Members = append([]Member{d.Members[0]}, d.Members...)
			b, _ := json.Marshal(d)
			return signRaw(t, p.ecKey, p.ecCert, b)
		}, anchor, now, ErrMalformed},
		{"unknown field in wire form", func() []byte {
			return bytes.Replace(good, []byte(`{"config":`), []byte(`{"chain":[],"config":`), 1)
		}, anchor, now, ErrMalformed},
		{"trailing data", func() []byte { return append(bytes.Clone(good), []byte(` {}`)...) }, anchor, now, ErrMalformed},
		{"truncated", func() []byte { return good[:len(good)/2] }, anchor, now, ErrMalformed},
		{"missing signature", func() []byte {
			return editSigned(t, good, func(s *Signed) { s.Signature = nil })
		}, anchor, now, ErrMalformed},
		{"certificate garbage", func() []byte {
			return editSigned(t, good, func(s *Signed) { s.Certificate = []byte("not DER") })
		}, anchor, now, ErrMalformed},
		{"oversized", func() []byte {
			return append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxSignedSize)...)
		}, anchor, now, ErrTooLarge},
		{"issued in the future", func() []byte {
			return signDoc(t, p, sampleDoc(t, p, 5, now.Add(time.Hour), 5, 5))
		}, anchor, now.Add(10 * time.Minute), ErrNotYetValid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.raw(), tc.anchor, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			for _, code := range Codes.Codes() {
				if e := Codes.Sentinel(code); e != tc.want && errors.Is(err, e) {
					t.Fatalf("error %v also wraps %v", err, e)
				}
			}
		})
	}
}

func sha256Sum(b []byte) []byte {
	h := crypto.SHA256.New()
	h.Write(b)
	return h.Sum(nil)
}

func mustCanonical(t *testing.T, d *Document) []byte {
	t.Helper()
	b, err := d.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyExpiredStillVerifies: expiry is the client's decision.
func TestVerifyExpiredStillVerifies(t *testing.T) {
	p, _ := pkis(t)
	now := time.Now().UTC()
	raw := signDoc(t, p, sampleDoc(t, p, 5, now, 1, 0))
	later := now.Add(30 * 24 * time.Hour)
	d, err := Verify(raw, anchorFor(t, p), later)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Expired(later) || d.Age(later) != 30*24*time.Hour {
		t.Fatalf("expired %v age %v", d.Expired(later), d.Age(later))
	}
	// A verifier whose clock is behind by less than the policy's skew accepts.
	if _, err := Verify(raw, anchorFor(t, p), now.Add(-30*time.Second)); err != nil {
		t.Fatalf("within clock skew: %v", err)
	}
}

// TestSignRefuses: Sign's own checks.
func TestSignRefuses(t *testing.T) {
	p, other := pkis(t)
	now := time.Now().UTC()
	stray, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Sign(sampleDoc(t, p, 1, now, 1, 0), stray, []*x509.Certificate{p.ecCert}); !errors.Is(err, ErrUnknownSigner) {
		t.Fatalf("key/certificate mismatch: %v", err)
	}
	if _, err := Sign(sampleDoc(t, p, 1, now, 1, 0), p.ecKey, nil); !errors.Is(err, ErrUnknownSigner) {
		t.Fatalf("no certificate: %v", err)
	}
	bad := sampleDoc(t, p, 0, now, 1, 0)
	if _, err := Sign(bad, p.ecKey, []*x509.Certificate{p.ecCert}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 0: %v", err)
	}
	// The document announces another CA than the signer's.
	d := sampleDoc(t, p, 1, now, 1, 0)
	d.CAChain = [][]byte{other.inter.Raw, other.root.Raw}
	if _, err := Sign(d, p.ecKey, []*x509.Certificate{p.ecCert}); !errors.Is(err, ErrChain) {
		t.Fatalf("foreign CA chain: %v", err)
	}
	// chain[1:] may supply what the document lacks.
	d = sampleDoc(t, p, 1, now, 1, 0)
	d.CAChain = [][]byte{p.inter.Raw}
	if _, err := Sign(d, p.ecKey, []*x509.Certificate{p.ecCert, p.root}); err != nil {
		t.Fatalf("chain from the argument: %v", err)
	}
	if !strings.HasPrefix(string(SigningInput([]byte("x"))), "DXL-GLOBAL-CONFIG-v1\x00x") {
		t.Fatal("signing input prefix")
	}
}
