package node_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/node/envelope"
)

// TestXSignature: a write's answer carries the provider member's
// signature (X-Signature) with the bytes signed and the certificate; Go
// crypto verifies it as docs/integration.md says, and so does the
// document's own openssl script; a changed body no longer matches. A read
// has no X-Signature.
func TestXSignature(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	id := envelope.NewRequestID()
	a := do(t, c, "POST", n.url("/citizens"), "application/json", []byte(`{"name":"Le Van D"}`), "X-Request-ID", id.String())
	if a.status != 201 || a.header.Get("X-Signature") == "" {
		t.Fatalf("POST: %d, X-Signature %q", a.status, a.header.Get("X-Signature"))
	}
	sig, _ := base64.StdEncoding.DecodeString(a.header.Get("X-Signature"))
	signed, _ := base64.StdEncoding.DecodeString(a.header.Get("X-Signature-Signed"))
	der, _ := base64.StdEncoding.DecodeString(a.header.Get("X-Signature-Certificate"))
	cert, err := x509.ParseCertificate(der)
	if err != nil || a.header.Get("X-Signature-Algorithm") != "Ed25519" || len(signed) < 144 {
		t.Fatalf("certificate %v, algorithm %q, %d bytes signed", err, a.header.Get("X-Signature-Algorithm"), len(signed))
	}
	// As the document says: prefix, certificate hash, request ID, status,
	// body hash at their offsets; the signature with the certificate's key.
	certSum, bodySum := sha256.Sum256(der), sha256.Sum256(a.body)
	switch {
	case !bytes.HasPrefix(signed, []byte(envelope.ResponsePrefix)):
		t.Error("signed part prefix")
	case !bytes.Equal(signed[22:54], certSum[:]):
		t.Error("certificate hash")
	case !bytes.Equal(signed[54:70], id[:]):
		t.Error("request ID")
	case binary.BigEndian.Uint16(signed[102:104]) != 201:
		t.Error("status")
	case !bytes.Equal(signed[112:144], bodySum[:]):
		t.Error("body hash")
	case !ed25519.Verify(cert.PublicKey.(ed25519.PublicKey), signed, sig):
		t.Error("signature")
	}
	if len(cert.URIs) != 1 || !strings.HasSuffix(cert.URIs[0].String(), n.B.Node.Member().String()) {
		t.Errorf("signer %v, want the provider member %s", cert.URIs, n.B.Node.Member())
	}
	forged := sha256.Sum256(append(a.body, ' '))
	if bytes.Equal(signed[112:144], forged[:]) {
		t.Error("a changed body matches the signed hash")
	}
	if r := do(t, c, "GET", n.url("/citizens/001"), "", nil); r.status != 200 || r.header.Get("X-Signature") != "" {
		t.Errorf("GET: %d, X-Signature %q", r.status, r.header.Get("X-Signature"))
	}
	t.Run("DocumentedOpenSSL", func(t *testing.T) { runVerifyScript(t, a) })
}

// runVerifyScript runs the openssl verification of docs/integration.md
// ("X-Signature") on the answer a, then on a changed body.
func runVerifyScript(t *testing.T, a answer) {
	dir := t.TempDir()
	testutil.OpenSSL(t, dir) // skips without openssl (fails under CI)
	doc, err := os.ReadFile(filepath.Join("..", "docs", "integration.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- verify-x-signature -->\\s*```sh\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no verify-x-signature script in docs/integration.md")
	}
	var hdr bytes.Buffer
	for k, vs := range a.header {
		for _, v := range vs {
			hdr.WriteString(k + ": " + v + "\r\n")
		}
	}
	os.WriteFile(filepath.Join(dir, "headers.txt"), hdr.Bytes(), 0o600)
	run := func(body []byte) (string, error) {
		os.WriteFile(filepath.Join(dir, "body.bin"), body, 0o600)
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", string(m[1]))
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(a.body); err != nil || !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("documented script: %v\n%s", err, out)
	}
	if out, err := run(append(a.body, ' ')); err == nil {
		t.Fatalf("documented script accepts a changed body:\n%s", out)
	}
}
