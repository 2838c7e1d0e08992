package envelope

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/dxl-network/dxl/internal/testutil"
)

// fuzzSeeds returns genuine envelopes of both key types.
func fuzzSeeds(t testing.TB) (reqs, resps [][]byte) {
	f := getFixture(t)
	for _, kt := range keyTypes {
		sent, err := f.signers["A-"+kt].SignRequest(f.request("A"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := f.signers["B-"+kt].SignResponse(sent, Response{Status: 200, ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		reqs, resps = append(reqs, sent.Raw), append(resps, resp.Raw)
	}
	return reqs, resps
}

// envelopeBases are the inputs FuzzParseRequest and FuzzParseResponse
// splice into: none (base 0: the input is ins itself), then genuine
// envelopes, first requests or first responses. The fuzzer mutates a few
// bytes of whole envelopes instead of kilobytes of certificate.
func envelopeBases(t testing.TB, requestsFirst bool) [][]byte {
	reqs, resps := fuzzSeeds(t)
	if !requestsFirst {
		reqs, resps = resps, reqs
	}
	return append(append([][]byte{nil}, reqs...), resps...)
}

// addEnvelopeSeeds adds each whole base and a few one-byte changes.
func addEnvelopeSeeds(f *testing.F, bases [][]byte) {
	for i := range bases {
		f.Add(uint16(i), uint16(0), uint16(0), []byte(nil))
	}
	f.Add(uint16(1), uint16(3), uint16(1), []byte{0xff})
	f.Add(uint16(1), uint16(30), uint16(0), []byte{0})
	f.Add(uint16(0), uint16(0), uint16(0), []byte("\x00\x00\x00\x10DXL-CALL-REQUEST-v1"))
}

// FuzzParseRequest: ParseRequest never panics, and whatever it accepts is
// canonical: re-encoding the parsed fields gives the input back.
func FuzzParseRequest(f *testing.F) {
	bases := envelopeBases(f, true)
	addEnvelopeSeeds(f, bases)
	f.Fuzz(func(t *testing.T, base, at, del uint16, ins []byte) {
		raw := testutil.Splice(bases[int(base)%len(bases)], int(at), int(del), ins)
		r, err := ParseRequest(raw)
		if err != nil {
			if Codes.Code(err) == "internal" {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		h := sha256.Sum256(r.CertDER)
		again := assemble(r.appendSigned(nil, &h), r.CertDER, r.Signature)
		if !bytes.Equal(again, raw) {
			t.Fatalf("accepted a non-canonical request envelope")
		}
		if r.Validate() != nil {
			t.Fatal("accepted an invalid request")
		}
	})
}

// FuzzParseResponse is FuzzParseRequest for responses.
func FuzzParseResponse(f *testing.F) {
	bases := envelopeBases(f, false)
	addEnvelopeSeeds(f, bases)
	f.Fuzz(func(t *testing.T, base, at, del uint16, ins []byte) {
		raw := testutil.Splice(bases[int(base)%len(bases)], int(at), int(del), ins)
		r, err := ParseResponse(raw)
		if err != nil {
			if Codes.Code(err) == "internal" {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		h := sha256.Sum256(r.CertDER)
		again := assemble(r.appendSigned(nil, &h), r.CertDER, r.Signature)
		if !bytes.Equal(again, raw) {
			t.Fatalf("accepted a non-canonical response envelope")
		}
	})
}

// FuzzReadFrame reads frames until an error: every frame respects its
// type's limit, re-encodes to the bytes consumed, and no error is
// unclassified.
func FuzzReadFrame(f *testing.F) {
	var w bytes.Buffer
	WriteFrame(&w, FrameRequest, []byte("envelope"))
	WriteFrame(&w, FrameBodyChunk, []byte("chunk"))
	WriteFrame(&w, FrameBodyEnd, nil)
	WriteFrame(&w, FrameError, []byte("code: message"))
	f.Add(w.Bytes())
	f.Add(fhdr(FrameBodyChunk, 1<<31))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		var out bytes.Buffer
		for {
			before := r.Len()
			fr, err := ReadFrame(r)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("unclassified error %v", err)
				}
				return
			}
			if len(fr.Payload) > MaxPayload(fr.Type) {
				t.Fatalf("frame type %d of %d bytes", fr.Type, len(fr.Payload))
			}
			if err := WriteFrame(&out, fr.Type, fr.Payload); err != nil {
				t.Fatal(err)
			}
			if consumed := in[len(in)-before : len(in)-r.Len()]; !bytes.Equal(consumed, out.Bytes()) {
				t.Fatal("frame does not re-encode to its bytes")
			}
			out.Reset()
		}
		// The body reader over the same bytes must not panic either.
		_, _ = io.Copy(io.Discard, NewBodyReader(bytes.NewReader(in), 1<<20))
	})
}

// TestWriteSeedCorpus rewrites testdata/fuzz/* from fresh envelopes when
// DXL_WRITE_CORPUS=1 (the committed seeds come from it).
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("DXL_WRITE_CORPUS") != "1" {
		t.Skip("set DXL_WRITE_CORPUS=1 to regenerate the seed corpus")
	}
	reqs, resps := fuzzSeeds(t)
	var frames bytes.Buffer
	WriteFrame(&frames, FrameRequest, reqs[0])
	WriteBody(&frames, bytes.NewReader([]byte(`{"a":1}`)), 3, 0)
	WriteFrame(&frames, FrameResponse, resps[1])
	WriteFrame(&frames, FrameError, []byte("envelope_replay: request ID already seen"))
	// The parse targets take (base, at, del, ins): each whole envelope of
	// envelopeBases, and one of the other kind.
	for _, name := range []string{"FuzzParseRequest", "FuzzParseResponse"} {
		if err := testutil.WriteSpliceSeeds(name, map[string]testutil.SpliceSeed{
			"seed-0": {Base: 1}, "seed-1": {Base: 2}, "seed-2": {Base: 3},
		}); err != nil {
			t.Fatal(err)
		}
	}
	sets := map[string][][]byte{
		"FuzzReadFrame": {frames.Bytes(), fhdr(FrameBodyChunk, 1<<31), fhdr(FrameRequest, MaxEnvelope+1), append(fhdr(FrameError, 3), 'a')},
	}
	for name, seeds := range sets {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
