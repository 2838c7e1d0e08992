package tsa

import (
	"crypto"
	"errors"
	"math/big"
	"testing"

	"github.com/digitorus/timestamp"

	"github.com/dxl-network/dxl/internal/testutil"
)

// FuzzParseRequest feeds arbitrary bytes to ParseRequest and to
// Authority.Stamp: neither may panic, a parsed request must be coherent,
// and Stamp must always answer with a well-formed TimeStampResp: a
// rejection whose failInfo matches the error, or a token that verifies.
// Seeds beyond the ones below live in testdata/fuzz/FuzzParseRequest.
func FuzzParseRequest(f *testing.F) {
	p := newTestPKI(f, "fuzz")
	a := newTestAuthority(f, p, nil)
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := digestOf(h, []byte("seed"))
		full := mustRequest(f, h, d, RequestOptions{Nonce: big.NewInt(1 << 40), CertReq: true, Policy: DefaultPolicy})
		f.Add(full)
		f.Add(mustRequest(f, h, d, RequestOptions{}))
		f.Add(full[:len(full)/2])
		f.Add(append(full, 0))
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00}) // BER indefinite length
	f.Add([]byte("garbage that is not DER"))

	f.Fuzz(func(t *testing.T, data []byte) {
		req, perr := ParseRequest(data)
		if perr == nil {
			if hashOID(req.Hash) == nil || len(req.HashedMessage) != req.Hash.Size() {
				t.Fatalf("accepted incoherent request %+v", req)
			}
		} else {
			var re *RequestError
			if !errors.As(perr, &re) {
				t.Fatalf("ParseRequest error %T is not a *RequestError", perr)
			}
		}

		resp, err := a.Stamp(data)
		if resp == nil {
			t.Fatal("Stamp returned no response")
		}
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("Stamp error %T is not a *RequestError", err)
			}
			_, perr := ParseToken(resp)
			var rej *RejectionError
			if !errors.As(perr, &rej) || rej.Status != int(timestamp.Rejection) || rej.Failure != re.Failure {
				t.Fatalf("rejection response does not say %v: %v", re.Failure, perr)
			}
			return
		}
		if perr != nil {
			t.Fatalf("Stamp granted a request ParseRequest rejects: %v", perr)
		}
		opts := VerifyOptions{Roots: p.roots, Digest: req.HashedMessage, Hash: req.Hash, Nonce: req.Nonce}
		if !req.CertReq {
			opts.TSACert, opts.Intermediates = p.leaf, p.inters
		}
		if _, err := Verify(resp, opts); err != nil {
			t.Fatalf("granted token does not verify: %v", err)
		}
	})
}

// FuzzParseToken feeds arbitrary bytes to ParseToken and Verify, which
// read untrusted evidence through digitorus/pkcs7 and digitorus/timestamp:
// they must not panic, must fail with one of the package's sentinels, and
// Verify must accept nothing but a token for the expected digest. The
// input is Splice(bases[base], at, del, ins): the valid responses and
// tokens are built in the run, so the fuzzer mutates and minimises a few
// bytes, not kilobytes of DER. Base 0 is empty: (0, 0, 0, data) is data
// itself, as in the committed crashers (testdata/fuzz/FuzzParseToken).
func FuzzParseToken(f *testing.F) {
	p := newTestPKI(f, "fuzztoken")
	a := newTestAuthority(f, p, nil)
	d := digestOf(crypto.SHA256, []byte("seed"))
	bases := [][]byte{nil, a.rejected[timestamp.BadAlgorithm]}
	for _, certReq := range []bool{true, false} {
		resp, err := a.Stamp(mustRequest(f, crypto.SHA256, d, RequestOptions{Nonce: big.NewInt(5), CertReq: certReq}))
		if err != nil {
			f.Fatal(err)
		}
		bases = append(bases, resp, mustSplit(f, resp))
	}
	for i := range bases {
		f.Add(uint16(i), uint16(0), uint16(0), []byte(nil))
	}
	f.Add(uint16(2), uint16(20), uint16(1), []byte{0xff})
	f.Add(uint16(3), uint16(9), uint16(400), []byte(nil))
	f.Add(uint16(0), uint16(0), uint16(0), []byte{0x30, 0x03, 0x02, 0x01, 0x00})
	opts := VerifyOptions{Roots: p.roots, Intermediates: p.inters, TSACert: p.leaf, Digest: d, Hash: crypto.SHA256}
	sentinels := []error{ErrMalformed, ErrRejected, ErrSignature, ErrSignerCert, ErrEKU, ErrChain, ErrImprint, ErrNonce, ErrPolicy}
	known := func(err error) bool {
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, base, at, del uint16, ins []byte) {
		data := testutil.Splice(bases[int(base)%len(bases)], int(at), int(del), ins)
		if _, err := ParseToken(data); err != nil && !known(err) {
			t.Fatalf("ParseToken error without a sentinel: %v", err)
		}
		info, err := Verify(data, opts)
		if err == nil && (info.Signer == nil || string(info.HashedMessage) != string(d)) {
			t.Fatalf("Verify accepted %+v", info)
		}
		if err != nil && !known(err) {
			t.Fatalf("Verify error without a sentinel: %v", err)
		}
	})
}
