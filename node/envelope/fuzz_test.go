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

// FuzzParseRequest: ParseRequest never panics, and whatever it accepts is
// canonical: re-encoding the parsed fields gives the input back.
func FuzzParseRequest(f *testing.F) {
	reqs, resps := fuzzSeeds(f)
	for _, b := range append(reqs, resps...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
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
	reqs, resps := fuzzSeeds(f)
	for _, b := range append(resps, reqs...) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
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
	sets := map[string][][]byte{
		"FuzzParseRequest":  append(append([][]byte{}, reqs...), resps[0]),
		"FuzzParseResponse": append(append([][]byte{}, resps...), reqs[0]),
		"FuzzReadFrame":     {frames.Bytes(), fhdr(FrameBodyChunk, 1<<31), fhdr(FrameRequest, MaxEnvelope+1), append(fhdr(FrameError, 3), 'a')},
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
