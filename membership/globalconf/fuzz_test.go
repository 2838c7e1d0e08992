package globalconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/testutil"
)

// verifyBases are the inputs FuzzVerify splices into, built in each run
// (signed under that run's CA): the fuzzer's own input stays small. Base 0
// is empty, so (0, 0, 0, data) is data itself.
func verifyBases(t testing.TB) (bases [][]byte, anchor *Anchor, now time.Time, p *testPKI) {
	p, other := pkis(t)
	issued := time.Now().UTC().Truncate(time.Second)
	now = issued.Add(time.Minute)
	anchor = anchorFor(t, p)
	anchor.Signers = append(anchor.Signers, p.edCert)
	d := sampleDoc(t, p, 3, issued, 3, 4)
	d.RegistryServers = []RegistryServer{{ID: "reg-1", URL: "https://10.0.0.1:8443"}}
	valid := signDoc(t, p, d)
	canon, _ := d.Canonical()
	var indented bytes.Buffer
	json.Indent(&indented, canon, "", "  ")
	return [][]byte{
		nil,
		valid,
		canon,
		indented.Bytes(),
		bytes.Repeat([]byte("["), 10000),
		bytes.Replace(valid, []byte(`"ecdsa-sha256"`), []byte(`"none"`), 1),
		signDoc(t, other, sampleDoc(t, other, 3, issued, 3, 4)), // reaches the chain check
	}, anchor, now, p
}

// verifySeeds are FuzzVerify's seeds, committed by TestWriteFuzzSeeds.
var verifySeeds = map[string]testutil.SpliceSeed{
	"valid-signed":      {Base: 1},
	"truncated-signed":  {Base: 1, At: 3000, Del: 60000},
	"garbage":           {Ins: []byte("\x00\xff<html>not a configuration</html>\x1b")},
	"canonical-doc":     {Base: 2},
	"indented-doc":      {Base: 3},
	"empty-object":      {Ins: []byte(`{}`)},
	"wrong-types":       {Ins: []byte(`{"config":1,"signature":[],"algorithm":null,"certificate":"@@"}`)},
	"deep-nesting":      {Base: 4},
	"unknown-algorithm": {Base: 5},
	"other-ca":          {Base: 6},
	"changed-field":     {Base: 2, At: 40, Del: 3, Ins: []byte(`"x"`)},
}

// FuzzVerify feeds Verify three ways the input Splice(bases[base], at,
// del, ins):
//
//  1. as a signed configuration received from the network;
//  2. if it parses as the wire form, with its config re-signed by a
//     trusted signer, so the document checks behind the signature are
//     reached;
//  3. as config bytes, signed by the trusted signer.
//
// Verify must never panic, every error must wrap one of the package's
// sentinels, and whatever it accepts must be valid and re-encode to exactly
// the signed bytes. The large valid documents are bases built in the run,
// so the fuzzer mutates and minimises only a few bytes.
func FuzzVerify(f *testing.F) {
	bases, anchor, now, p := verifyBases(f)
	for _, s := range verifySeeds {
		f.Add(s.Base, s.At, s.Del, s.Ins)
	}
	check := func(t *testing.T, raw []byte, config []byte) {
		doc, err := Verify(raw, anchor, now)
		if err != nil {
			if Codes.Code(err) == "internal" {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if err := doc.Validate(); err != nil {
			t.Fatalf("accepted an invalid document: %v", err)
		}
		b, err := doc.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		if config != nil && !bytes.Equal(b, config) {
			t.Fatalf("accepted config re-encodes differently")
		}
	}
	f.Fuzz(func(t *testing.T, base, at, del uint16, ins []byte) {
		data := testutil.Splice(bases[int(base)%len(bases)], int(at), int(del), ins)
		check(t, data, nil)
		var s Signed
		if json.Unmarshal(data, &s) == nil && len(s.Config) > 0 {
			check(t, signRaw(t, p.edKey, p.edCert, s.Config), s.Config)
		}
		if len(data) > 0 {
			check(t, signRaw(t, p.edKey, p.edCert, data), data)
		}
	})
}

// TestFuzzVerifyBases keeps the bases meaningful: the valid one verifies,
// the other CA's reaches the chain check.
func TestFuzzVerifyBases(t *testing.T) {
	bases, anchor, now, _ := verifyBases(t)
	if _, err := Verify(bases[1], anchor, now); err != nil {
		t.Fatalf("valid base: %v", err)
	}
	if _, err := Verify(bases[6], anchor, now); err == nil || Codes.Code(err) == "internal" {
		t.Fatalf("other CA's base: %v", err)
	}
}

// TestWriteFuzzSeeds regenerates the committed seed corpus when
// DXL_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("DXL_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set DXL_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzVerify")
	}
	if err := os.RemoveAll(filepath.Join("testdata", "fuzz", "FuzzVerify")); err != nil {
		t.Fatal(err)
	}
	if err := testutil.WriteSpliceSeeds("FuzzVerify", verifySeeds); err != nil {
		t.Fatal(err)
	}
}

// TestFuzzSeedsCommitted: the corpus the brief promises is there.
func TestFuzzSeedsCommitted(t *testing.T) {
	for _, name := range []string{"valid-signed", "truncated-signed", "garbage"} {
		if _, err := os.Stat(filepath.Join("testdata", "fuzz", "FuzzVerify", name)); errors.Is(err, os.ErrNotExist) {
			t.Errorf("seed %s missing", name)
		}
	}
}
