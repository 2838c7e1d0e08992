package globalconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary bytes to Verify three ways:
//
//  1. as a signed configuration received from the network;
//  2. if they parse as the wire form, with their config re-signed by a
//     trusted signer, so the document checks behind the signature are
//     reached;
//  3. as config bytes, signed by the trusted signer.
//
// Verify must never panic, every error must wrap one of the package's
// sentinels, and whatever it accepts must be valid and re-encode to exactly
// the signed bytes.
//
// The committed seeds (testdata/fuzz/FuzzVerify) were made under another CA
// than the one each run creates, so their documents reach every check up
// to the chain (ErrChain); the seeds added below are signed under this
// run's CA and verify.
func FuzzVerify(f *testing.F) {
	p, _ := pkis(f)
	issued := time.Now().UTC()
	now := issued.Add(time.Minute)
	anchor := anchorFor(f, p)
	anchor.Signers = append(anchor.Signers, p.edCert)
	d := sampleDoc(f, p, 3, issued, 3, 4)
	valid := signDoc(f, p, d)
	canon, _ := d.Canonical()
	f.Add(valid)
	f.Add(canon)

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
	f.Fuzz(func(t *testing.T, data []byte) {
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

// TestWriteFuzzSeeds regenerates the committed seed corpus when
// DXL_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("DXL_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set DXL_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzVerify")
	}
	p, _ := pkis(t)
	d := sampleDoc(t, p, 3, time.Now().UTC().Truncate(time.Second), 3, 4)
	d.RegistryServers = []RegistryServer{{ID: "reg-1", URL: "https://10.0.0.1:8443"}}
	valid := signDoc(t, p, d)
	canon, _ := d.Canonical()
	var indented bytes.Buffer
	json.Indent(&indented, canon, "", "  ")
	seeds := map[string][]byte{
		"valid-signed":      valid,
		"truncated-signed":  valid[:len(valid)/2],
		"garbage":           []byte("\x00\xff<html>not a configuration</html>\x1b"),
		"canonical-doc":     canon,
		"indented-doc":      indented.Bytes(),
		"empty-object":      []byte(`{}`),
		"wrong-types":       []byte(`{"config":1,"signature":[],"algorithm":null,"certificate":"@@"}`),
		"deep-nesting":      bytes.Repeat([]byte("["), 10000),
		"unknown-algorithm": bytes.Replace(valid, []byte(`"ecdsa-sha256"`), []byte(`"none"`), 1),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
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
