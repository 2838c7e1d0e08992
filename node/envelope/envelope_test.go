package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

var keyTypes = []string{"ed", "ec"}

func TestRoundTrip(t *testing.T) {
	f := getFixture(t)
	for _, kt := range keyTypes {
		t.Run(kt, func(t *testing.T) {
			a, b := f.signers["A-"+kt], f.signers["B-"+kt]
			in := f.request("A")
			in.Headers = []Header{{"Accept", "application/xml"}, {"X-Trace", "a"}, {"X-Trace", "b"}, {"Authorization", "Basic YmFja2VuZA=="}}
			sent, err := a.SignRequest(in)
			if err != nil {
				t.Fatal(err)
			}
			p := f.policy()
			p.ExpectedSigner = ident.Member{Instance: "VN-TEST", Class: "GOV", Code: "A"}
			got, err := VerifyRequest(sent.Raw, p, NewReplayCache(p.MaxSkew, 0))
			if err != nil {
				t.Fatal(err)
			}
			in.Version, in.Time = Version, f.t0.UTC()
			if !reflect.DeepEqual(got.Request, in) {
				t.Fatalf("request changed in transit:\n got %+v\nwant %+v", got.Request, in)
			}
			if got.Hash != sent.Hash || got.Signer.Member.String() != "VN-TEST/GOV/A" || len(got.Signer.Serials) != 2 {
				t.Fatalf("hash/signer: %+v", got.Signer)
			}
			if parsed, err := ParseRequest(sent.Raw); err != nil || !reflect.DeepEqual(parsed.Request, in) {
				t.Fatalf("ParseRequest: %v", err)
			}

			rin := Response{Status: 200, BodySHA256: in.BodySHA256, ContentType: "application/json", BodyLength: 17,
				Headers: []Header{{"Cache-Control", "no-store"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}}}
			resp, err := b.SignResponse(got, rin)
			if err != nil {
				t.Fatal(err)
			}
			rgot, err := VerifyResponse(resp.Raw, sent, f.policy())
			if err != nil {
				t.Fatal(err)
			}
			rin.Version, rin.Time, rin.RequestID, rin.RequestHash = Version, f.t0.UTC(), in.RequestID, sent.Hash
			if !reflect.DeepEqual(rgot.Response, rin) {
				t.Fatalf("response changed in transit:\n got %+v\nwant %+v", rgot.Response, rin)
			}
			if parsed, err := ParseResponse(resp.Raw); err != nil || !reflect.DeepEqual(parsed.Response, rin) {
				t.Fatalf("ParseResponse: %v", err)
			}
		})
	}
}

// TestHeaderRules: headers are capped and checked, and a version 1
// envelope (as older message-log records hold) still verifies but carries
// none.
func TestHeaderRules(t *testing.T) {
	f := getFixture(t)
	a := f.signers["A-ed"]
	many := make([]Header, MaxHeaders+1)
	for i := range many {
		many[i] = Header{"X-N", "v"}
	}
	for name, hs := range map[string][]Header{
		"too many":   many,
		"too big":    {{"X-Big", strings.Repeat("v", MaxHeaderBytes)}},
		"CR LF":      {{"X-Split", "a\r\nInjected: yes"}},
		"NUL":        {{"X-Nul", "a\x00"}},
		"bad name":   {{"Bad Name", "v"}},
		"empty name": {{"", "v"}},
	} {
		in := f.request("A")
		in.Headers = hs
		if _, err := a.SignRequest(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	in := f.request("A")
	in.Version = VersionV1
	sent, err := a.SignRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	p := f.policy()
	got, err := VerifyRequest(sent.Raw, p, NewReplayCache(p.MaxSkew, 0))
	if err != nil || got.Version != VersionV1 || got.Headers != nil {
		t.Fatalf("version 1 envelope: %v %+v", err, got)
	}
	in.Headers = []Header{{"Accept", "text/plain"}}
	if _, err := a.SignRequest(in); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 1 with headers: %v", err)
	}
}

// outerOffsets are the byte offsets of the unsigned framing lengths of raw.
func outerOffsets(raw []byte) map[int]bool {
	n := int(binary.BigEndian.Uint32(raw))
	c := int(binary.BigEndian.Uint16(raw[4+n:]))
	s := 4 + n + 2 + c
	return map[int]bool{0: true, 1: true, 2: true, 3: true, 4 + n: true, 5 + n: true, s: true, s + 1: true}
}

// TestTamperEveryByte flips each byte of a request and of a response: a
// byte of the signed part, the certificate or the signature is
// ErrSignature; a byte of the unsigned framing lengths is ErrMalformed.
func TestTamperEveryByte(t *testing.T) {
	f := getFixture(t)
	for _, kt := range keyTypes {
		t.Run(kt, func(t *testing.T) {
			sent, err := f.signers["A-"+kt].SignRequest(f.request("A"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.signers["B-"+kt].SignResponse(sent, Response{Status: 200})
			if err != nil {
				t.Fatal(err)
			}
			p := f.policy()
			for _, tc := range []struct {
				name   string
				raw    []byte
				verify func([]byte) error
			}{
				{"request", sent.Raw, func(b []byte) error { _, err := VerifyRequest(b, p, NewReplayCache(p.MaxSkew, 0)); return err }},
				{"response", resp.Raw, func(b []byte) error { _, err := VerifyResponse(b, sent, p); return err }},
			} {
				outer := outerOffsets(tc.raw)
				for i := range tc.raw {
					b := bytes.Clone(tc.raw)
					b[i] ^= 0x01
					err := tc.verify(b)
					want := ErrSignature
					if outer[i] {
						want = ErrMalformed
					}
					if !errors.Is(err, want) {
						t.Fatalf("%s byte %d of %d flipped: got %v, want %v", tc.name, i, len(b), err, want)
					}
				}
				if err := tc.verify(tc.raw); err != nil {
					t.Fatalf("%s untampered: %v", tc.name, err)
				}
			}
		})
	}
}

func TestRequestRejections(t *testing.T) {
	f := getFixture(t)
	skew := f.policy().MaxSkew
	at := func(d time.Duration) func(r *Request) { return func(r *Request) { r.Time = f.t0.Add(d) } }
	tests := []struct {
		name   string
		signer string
		client string
		edit   func(*Request)
		policy func(*Policy)
		want   error
	}{
		{name: "ok ed", signer: "A-ed", client: "A"},
		{name: "ok ec", signer: "A-ec", client: "A"},
		{name: "cert of another member", signer: "B-ed", client: "A", want: ErrSigner},
		{name: "unexpected signer", signer: "A-ed", client: "A", want: ErrSigner,
			policy: func(p *Policy) { p.ExpectedSigner = ident.Member{Instance: "VN-TEST", Class: "GOV", Code: "B"} }},
		{name: "addressed to this node", signer: "A-ed", client: "A",
			policy: func(p *Policy) { p.LocalPeer = testTarget }},
		{name: "addressed to another node of the provider", signer: "A-ed", client: "A", want: ErrBinding,
			policy: func(p *Policy) { p.LocalPeer = "12D3KooWProviderNodeB2" }},
		{name: "empty target", signer: "A-ed", client: "A", want: ErrMalformed,
			edit: func(r *Request) { r.Target = "" }},
		{name: "node-auth cert", signer: "A-node", client: "A", want: ErrSigner},
		{name: "other CA", signer: "A-foreign", client: "A", want: ErrSigner},
		{name: "P-384 key", signer: "A-p384", client: "A", want: ErrUnsupportedKey},
		{name: "revoked leaf", signer: "A-ec", client: "A", want: ErrRevoked,
			policy: func(p *Policy) {
				leaf := f.signers["A-ec"].info.Cert.SerialNumber.Text(16)
				p.Revoked = func(s string) bool { return strings.TrimLeft(s, "0") == leaf }
			}},
		{name: "revoked intermediate", signer: "A-ed", client: "A", want: ErrRevoked,
			policy: func(p *Policy) {
				in := f.ca.Intermediate().SerialNumber.Text(16)
				p.Revoked = func(s string) bool { return strings.TrimLeft(s, "0") == in }
			}},
		{name: "not yet valid cert", signer: "A-ed", client: "A", want: ErrSigner,
			policy: func(p *Policy) { p.Now = func() time.Time { return time.Now().Add(-24 * time.Hour) } }},
		{name: "skew at the edge, past", signer: "A-ed", client: "A", edit: at(-skew)},
		{name: "skew at the edge, future", signer: "A-ed", client: "A", edit: at(skew)},
		{name: "too old", signer: "A-ed", client: "A", edit: at(-skew - time.Nanosecond), want: ErrClockSkew},
		{name: "from the future", signer: "A-ec", client: "A", edit: at(skew + time.Nanosecond), want: ErrClockSkew},
		// Signed correctly, refused on the field rules.
		{name: "non-v4 request ID", signer: "A-ed", client: "A", want: ErrMalformed,
			edit: func(r *Request) { r.RequestID[6] = 0x10 }},
		{name: "bad client form", signer: "A-ed", client: "A", want: ErrMalformed,
			edit: func(r *Request) { r.Client = "VN-TEST/GOV/A" }},
		{name: "control byte in path", signer: "A-ed", client: "A", want: ErrMalformed,
			edit: func(r *Request) { r.Path = "/a\nb" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.request(tt.client)
			if tt.edit != nil {
				tt.edit(&r)
			}
			raw := forgeRequest(t, f.signers[tt.signer], r)
			want := tt.want
			p := f.policy()
			if tt.policy != nil {
				tt.policy(&p)
			}
			_, err := VerifyRequest(raw, p, NewReplayCache(skew, 0))
			if want == nil && err != nil || !errors.Is(err, want) {
				t.Fatalf("got %v (code %s), want %v", err, Codes.Code(err), want)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	f := getFixture(t)
	p := f.policy()
	rc := NewReplayCache(p.MaxSkew, 0)
	a := f.signers["A-ed"]
	r := f.request("A")
	sent, err := a.SignRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyRequest(sent.Raw, p, rc); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyRequest(sent.Raw, p, rc); !errors.Is(err, ErrReplay) {
		t.Fatalf("same envelope again: %v", err)
	}
	// The same ID re-signed at another time is still a replay.
	r.Time = f.t0.Add(time.Second)
	again, _ := a.SignRequest(r)
	if _, err := VerifyRequest(again.Raw, p, rc); !errors.Is(err, ErrReplay) {
		t.Fatalf("same ID re-signed: %v", err)
	}
	// A tampered copy is refused on its signature and does not use up the ID.
	fresh, _ := a.SignRequest(f.request("A"))
	bad := bytes.Clone(fresh.Raw)
	bad[len(RequestPrefix)+40] ^= 1
	if _, err := VerifyRequest(bad, p, rc); !errors.Is(err, ErrSignature) {
		t.Fatal(err)
	}
	if _, err := VerifyRequest(fresh.Raw, p, rc); err != nil {
		t.Fatalf("genuine request after a tampered copy: %v", err)
	}
	// A guard shorter than the skew window is a configuration error.
	if _, err := VerifyRequest(fresh.Raw, p, NewReplayCache(time.Second, 0)); err == nil || Codes.Code(err) != "internal" {
		t.Fatalf("short replay window: %v", err)
	}
}

func TestResponseRejections(t *testing.T) {
	f := getFixture(t)
	for _, kt := range keyTypes {
		a, b := f.signers["A-"+kt], f.signers["B-"+kt]
		sent, err := a.SignRequest(f.request("A"))
		if err != nil {
			t.Fatal(err)
		}
		other, _ := a.SignRequest(f.request("A"))
		sameID := f.request("A")
		sameID.RequestID = sent.RequestID
		sameID.UserID = "someone-else"
		otherSameID, _ := a.SignRequest(sameID)
		good := Response{Version: Version, RequestID: sent.RequestID, RequestHash: sent.Hash, Status: 200, Time: f.t0}
		tests := []struct {
			name string
			raw  []byte
			sent *SignedRequest
			p    func(*Policy)
			want error
		}{
			{name: "ok", raw: forgeResponse(t, b, good), sent: sent},
			{name: "answer to another request", raw: forgeResponse(t, b, good), sent: other, want: ErrBinding},
			{name: "same ID, other request bytes", raw: forgeResponse(t, b, good), sent: otherSameID, want: ErrBinding},
			{name: "wrong request hash", raw: func() []byte { r := good; r.RequestHash[0] ^= 1; return forgeResponse(t, b, r) }(), sent: sent, want: ErrBinding},
			{name: "signed by the consumer", raw: forgeResponse(t, a, good), sent: sent, want: ErrSigner},
			{name: "node-auth cert", raw: forgeResponse(t, f.signers["A-node"], good), sent: sent, want: ErrSigner},
			{name: "revoked provider", raw: forgeResponse(t, b, good), sent: sent, want: ErrRevoked,
				p: func(p *Policy) { p.Revoked = func(string) bool { return true } }},
			{name: "late", raw: func() []byte { r := good; r.Time = f.t0.Add(-3 * time.Minute); return forgeResponse(t, b, r) }(), sent: sent, want: ErrClockSkew},
			{name: "early", raw: func() []byte { r := good; r.Time = f.t0.Add(3 * time.Minute); return forgeResponse(t, b, r) }(), sent: sent, want: ErrClockSkew},
			// Domain separation: a request's signature never verifies as a
			// response's.
			{name: "request envelope as response", raw: sent.Raw, sent: sent, want: ErrSignature},
		}
		for _, tt := range tests {
			t.Run(kt+"/"+tt.name, func(t *testing.T) {
				p := f.policy()
				if tt.p != nil {
					tt.p(&p)
				}
				_, err := VerifyResponse(tt.raw, tt.sent, p)
				if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
			})
		}
	}
}

func TestSignerRefusals(t *testing.T) {
	f := getFixture(t)
	a := f.signers["A-ed"]
	if _, err := a.SignRequest(f.request("B")); !errors.Is(err, ErrSigner) {
		t.Fatalf("client of another member: %v", err)
	}
	sent, _ := a.SignRequest(f.request("A"))
	if _, err := a.SignResponse(sent, Response{Status: 200}); !errors.Is(err, ErrSigner) {
		t.Fatalf("response by non-provider: %v", err)
	}
	p384 := f.signers["A-p384"]
	if _, err := NewSigner(p384.key, p384.info.Cert); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("P-384: %v", err)
	}
	if _, err := NewSigner(f.signers["B-ed"].key, a.info.Cert); !errors.Is(err, ErrSigner) {
		t.Fatalf("key/cert mismatch: %v", err)
	}
	r := f.request("A")
	r.Path = "/" + strings.Repeat("x", MaxPath)
	if _, err := a.SignRequest(r); !errors.Is(err, ErrMalformed) {
		t.Fatalf("long path: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	f := getFixture(t)
	raw := make([]byte, MaxEnvelope+1)
	if _, err := VerifyRequest(raw, f.policy(), NewReplayCache(time.Hour, 0)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if _, err := ParseResponse(raw); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestRequestID(t *testing.T) {
	for i := 0; i < 100; i++ {
		id := NewRequestID()
		back, err := ParseRequestID(strings.ToUpper(id.String()))
		if err != nil || back != id {
			t.Fatalf("%s: %v", id, err)
		}
	}
	for _, s := range []string{"", "not-a-uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c8" /* v1 */, "f47ac10b-58cc-4372-c567-0e02b2c3d479", /* variant */
		"f47ac10b58cc-4372-a567-0e02b2c3d4790", "g47ac10b-58cc-4372-a567-0e02b2c3d479"} {
		if _, err := ParseRequestID(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q accepted", s)
		}
	}
	if _, err := ParseRequestID("f47ac10b-58cc-4372-a567-0e02b2c3d479"); err != nil {
		t.Fatal(err)
	}
}

func TestErrorCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, code := range Codes.Codes() {
		e := Codes.Sentinel(code)
		c := Codes.Code(fmt.Errorf("wrapped: %w", e))
		if c != code || seen[c] {
			t.Fatalf("%v: code %q", e, c)
		}
		seen[c] = true
	}
	if Codes.Code(errors.New("x")) != "internal" {
		t.Fatal("unknown error")
	}
}
