package tsa

import (
	"bytes"
	"crypto"
	"errors"
	"math/big"
	"testing"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var oidSHA1 = oidBytes("1.3.14.3.2.26")

// uuidPolicy is a 2.25.<UUID> OID, the kind encoding/asn1 cannot represent
// (DXL's default policy until it moved to digitorus for verification).
const uuidPolicy = "2.25.106649156219008860558053406395452048799"

// rawReq builds TimeStampReq variants, including invalid ones.
type rawReq struct {
	version     int64
	alg         []byte // OID content
	params      []byte // full element; nil = absent
	digest      []byte
	policy      []byte // OID content; nil = absent
	nonce       *big.Int
	certReq     *bool
	extensions  bool
	emptyExts   bool
	nonceAfterC bool // put nonce after certReq (out of order)
}

func (r rawReq) der(t testing.TB) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(r.version)
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(casn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(r.alg) })
				b.AddBytes(r.params)
			})
			b.AddASN1OctetString(r.digest)
		})
		if r.policy != nil {
			b.AddASN1(casn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(r.policy) })
		}
		if r.nonce != nil && !r.nonceAfterC {
			b.AddASN1BigInt(r.nonce)
		}
		if r.certReq != nil {
			b.AddASN1Boolean(*r.certReq)
		}
		if r.nonce != nil && r.nonceAfterC {
			b.AddASN1BigInt(r.nonce)
		}
		if r.extensions || r.emptyExts {
			b.AddASN1(tagExtensions, func(b *cryptobyte.Builder) {
				if r.emptyExts {
					return
				}
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(casn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(oidBytes("1.2.3.4")) })
					b.AddASN1OctetString([]byte{5, 0})
				})
			})
		}
	})
	return b.BytesOrPanic()
}

func goodRaw() rawReq {
	return rawReq{version: 1, alg: oidSHA256, params: []byte{5, 0}, digest: digestOf(crypto.SHA256, []byte("r"))}
}

func TestParseRequest(t *testing.T) {
	valid := mustRequest(t, crypto.SHA256, digestOf(crypto.SHA256, []byte("r")), RequestOptions{Nonce: big.NewInt(42), CertReq: true})
	f, tr := false, true
	mod := func(f func(*rawReq)) []byte {
		r := goodRaw()
		f(&r)
		return r.der(t)
	}
	for _, tc := range []struct {
		name string
		der  []byte
		want error // nil: accepted
	}{
		{"valid sha256", valid, nil},
		{"valid sha384", mustRequest(t, crypto.SHA384, make([]byte, 48), RequestOptions{}), nil},
		{"valid sha512", mustRequest(t, crypto.SHA512, make([]byte, 64), RequestOptions{}), nil},
		{"absent params", mod(func(r *rawReq) { r.params = nil }), nil},
		{"explicit certReq false", mod(func(r *rawReq) { r.certReq = &f }), nil},
		{"our policy", mod(func(r *rawReq) { r.policy = oidBytes(DefaultPolicy.String()) }), nil},
		{"uuid policy", mod(func(r *rawReq) { r.policy = oidBytes(uuidPolicy) }), ErrUnacceptedPolicy},
		{"bad policy encoding", mod(func(r *rawReq) { r.policy = []byte{0x2a, 0x80} }), ErrBadDataFormat},
		{"empty", nil, ErrBadDataFormat},
		{"garbage", []byte("this is not DER at all"), ErrBadDataFormat},
		{"truncated", valid[:len(valid)-3], ErrBadDataFormat},
		{"trailing bytes", append(bytes.Clone(valid), 0, 0), ErrBadDataFormat},
		{"version 2", mod(func(r *rawReq) { r.version = 2 }), ErrBadDataFormat},
		{"version 0", mod(func(r *rawReq) { r.version = 0 }), ErrBadDataFormat},
		{"out of order", mod(func(r *rawReq) { r.nonce = big.NewInt(1); r.certReq = &tr; r.nonceAfterC = true }), ErrBadDataFormat},
		{"short imprint", mod(func(r *rawReq) { r.digest = r.digest[:20] }), ErrBadDataFormat},
		{"long imprint", mod(func(r *rawReq) { r.digest = make([]byte, 64) }), ErrBadDataFormat},
		{"empty imprint", mod(func(r *rawReq) { r.digest = nil }), ErrBadDataFormat},
		{"oversized", append([]byte{0x30, 0x82, 0x20, 0x01}, make([]byte, 0x2001)...), ErrBadDataFormat},
		{"empty extensions", mod(func(r *rawReq) { r.emptyExts = true }), ErrBadDataFormat},
		{"sha1", mod(func(r *rawReq) { r.alg = oidSHA1; r.digest = make([]byte, 20) }), ErrBadAlg},
		{"md5", mod(func(r *rawReq) { r.alg = oidBytes("1.2.840.113549.2.5"); r.digest = make([]byte, 16) }), ErrBadAlg},
		{"unknown oid", mod(func(r *rawReq) { r.alg = oidBytes("1.2.3.4.5") }), ErrBadAlg},
		{"sha3-256", mod(func(r *rawReq) { r.alg = oidBytes("2.16.840.1.101.3.4.2.8") }), ErrBadAlg},
		{"odd params", mod(func(r *rawReq) { r.params = []byte{2, 1, 0} }), ErrBadAlg},
		{"huge nonce", mod(func(r *rawReq) { r.nonce = new(big.Int).Lsh(big.NewInt(1), 600) }), ErrBadRequest},
		{"extensions", mod(func(r *rawReq) { r.extensions = true }), ErrUnacceptedExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParseRequest(tc.der)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if req.Hash == 0 || len(req.HashedMessage) != req.Hash.Size() {
					t.Fatalf("parsed %+v", req)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("%T is not a *RequestError", err)
			}
		})
	}
}

func TestParseRequestFields(t *testing.T) {
	d := digestOf(crypto.SHA384, []byte("f"))
	pol := mustOID("1.2.3.4.5")
	req, err := ParseRequest(mustRequest(t, crypto.SHA384, d, RequestOptions{Nonce: big.NewInt(-5), Policy: pol, CertReq: true}))
	if err != nil {
		t.Fatal(err)
	}
	if req.Hash != crypto.SHA384 || !bytes.Equal(req.HashedMessage, d) || req.Nonce.Int64() != -5 || !req.Policy.Equal(pol) || !req.CertReq {
		t.Fatalf("parsed %+v", req)
	}
}

// Every rejection class comes back from Stamp as a well-formed
// TimeStampResp with status rejection and the right failInfo.
func TestStampRejections(t *testing.T) {
	p := newTestPKI(t, "reject")
	a := newTestAuthority(t, p, nil)
	mod := func(f func(*rawReq)) []byte {
		r := goodRaw()
		f(&r)
		return r.der(t)
	}
	for _, tc := range []struct {
		name string
		der  []byte
		fi   timestamp.FailureInfo
		err  error
	}{
		{"garbage", []byte{1, 2, 3}, timestamp.BadDataFormat, ErrBadDataFormat},
		{"trailing", append(mod(func(*rawReq) {}), 5), timestamp.BadDataFormat, ErrBadDataFormat},
		{"wrong length", mod(func(r *rawReq) { r.digest = make([]byte, 31) }), timestamp.BadDataFormat, ErrBadDataFormat},
		{"sha1", mod(func(r *rawReq) { r.alg = oidSHA1; r.digest = make([]byte, 20) }), timestamp.BadAlgorithm, ErrBadAlg},
		{"unknown alg", mod(func(r *rawReq) { r.alg = oidBytes("1.3.6.1.4.1.1.1") }), timestamp.BadAlgorithm, ErrBadAlg},
		{"foreign policy", mod(func(r *rawReq) { r.policy = oidBytes("1.3.6.1.4.1.1.2") }), timestamp.UnacceptedPolicy, ErrUnacceptedPolicy},
		{"uuid policy", mod(func(r *rawReq) { r.policy = oidBytes(uuidPolicy) }), timestamp.UnacceptedPolicy, ErrUnacceptedPolicy},
		{"extension", mod(func(r *rawReq) { r.extensions = true }), timestamp.UnacceptedExtension, ErrUnacceptedExtension},
		{"huge nonce", mod(func(r *rawReq) { r.nonce = new(big.Int).Lsh(big.NewInt(1), 1000) }), timestamp.BadRequest, ErrBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := a.Stamp(tc.der)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			checkRejection(t, resp, tc.fi)
		})
	}
}

func checkRejection(t testing.TB, resp []byte, fi timestamp.FailureInfo) {
	t.Helper()
	_, err := ParseToken(resp)
	var rej *RejectionError
	if !errors.As(err, &rej) || !errors.Is(err, ErrRejected) {
		t.Fatalf("response is not a rejection: %v", err)
	}
	if rej.Status != int(timestamp.Rejection) || rej.Failure != fi {
		t.Fatalf("rejection status %d failure %v, want %v", rej.Status, rej.Failure, fi)
	}
	// digitorus reads it the same way.
	if _, err := timestamp.ParseResponse(resp); err == nil {
		t.Fatal("digitorus accepted a rejection")
	}
}
