package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireOpenSSL returns the openssl binary, skipping the test when there
// is none, unless CI is set: CI must run the interop tests.
func requireOpenSSL(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not on PATH; CI must run the OpenSSL interop tests")
		}
		t.Skip("openssl not on PATH")
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl version: %v: %s", err, out)
	}
	v := strings.TrimSpace(string(out))
	t.Logf("using %s", v)
	if !strings.HasPrefix(v, "OpenSSL 3.") {
		t.Logf("interop is tested against OpenSSL 3; %q may differ", v)
	}
	return bin
}

func runOpenSSL(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func postFile(t *testing.T, url, in, out string) {
	t.Helper()
	q, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, ContentTypeQuery, bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ContentTypeReply {
		t.Fatalf("POST: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSSLInterop(t *testing.T) {
	bin := requireOpenSSL(t)
	dir := t.TempDir()
	p := newTestPKI(t, "interop")
	writePEM(t, filepath.Join(dir, "root.pem"), p.root)
	writePEM(t, filepath.Join(dir, "intermediate.pem"), p.inter)
	writePEM(t, filepath.Join(dir, "tsa-chain.pem"), p.leaf, p.inter)
	data := []byte("DXL evidence bundle\n")
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, newTestAuthority(t, p, nil))

	for _, tc := range []struct {
		name      string
		hash      crypto.Hash
		queryArgs []string
		untrusted string
	}{
		{"sha256 cert", crypto.SHA256, []string{"-sha256", "-cert"}, "intermediate.pem"},
		{"sha384 cert", crypto.SHA384, []string{"-sha384", "-cert"}, "intermediate.pem"},
		{"sha512 no nonce", crypto.SHA512, []string{"-sha512", "-cert", "-no_nonce"}, "intermediate.pem"},
		{"sha256 no cert", crypto.SHA256, []string{"-sha256"}, "tsa-chain.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := filepath.Join(dir, hashName(tc.hash)+strings.ReplaceAll(tc.name, " ", "_")+".tsq")
			r := strings.TrimSuffix(q, ".tsq") + ".tsr"
			runOpenSSL(t, bin, dir, append([]string{"ts", "-query", "-data", "data.txt", "-out", q}, tc.queryArgs...)...)
			postFile(t, srv.URL+"/", q, r)

			out := runOpenSSL(t, bin, dir, "ts", "-verify", "-data", "data.txt", "-in", r,
				"-CAfile", "root.pem", "-untrusted", tc.untrusted)
			if !strings.Contains(out, "Verification: OK") {
				t.Fatalf("openssl ts -verify:\n%s", out)
			}
			text := runOpenSSL(t, bin, dir, "ts", "-reply", "-in", r, "-text")
			for _, want := range []string{"Status: Granted", "Policy OID: " + DefaultPolicy.String(), "TSA: DirName:"} {
				if !strings.Contains(text, want) {
					t.Errorf("openssl ts -reply -text lacks %q:\n%s", want, text)
				}
			}

			// Our verifier accepts the OpenSSL-requested token, nonce included.
			qDER, _ := os.ReadFile(q)
			req, err := ParseRequest(qDER)
			if err != nil {
				t.Fatal(err)
			}
			rDER, _ := os.ReadFile(r)
			opts := VerifyOptions{Roots: p.roots, Digest: digestOf(tc.hash, data), Hash: tc.hash, Nonce: req.Nonce}
			if !req.CertReq {
				opts.TSACert, opts.Intermediates = p.leaf, p.inters
			}
			if _, err := Verify(rDER, opts); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// An OpenSSL TSA under another root: its tokens parse and verify against
// its own root (so our CMS reading matches OpenSSL's writing, with ESS
// SigningCertificate v1 and v2), and are rejected against ours.
func TestOpenSSLForeignTSA(t *testing.T) {
	bin := requireOpenSSL(t)
	dir := t.TempDir()
	ours := newTestPKI(t, "ours")
	foreign := newTestPKI(t, "foreign")
	writePEM(t, filepath.Join(dir, "foreign-tsa.pem"), foreign.leaf)
	writePEM(t, filepath.Join(dir, "foreign-chain.pem"), foreign.inter)
	keyDER, err := x509.MarshalPKCS8PrivateKey(foreign.leafKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "foreign-tsa.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	data := []byte("foreign data\n")
	os.WriteFile(filepath.Join(dir, "data.txt"), data, 0o644)
	runOpenSSL(t, bin, dir, "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "q.tsq")
	qDER, _ := os.ReadFile(filepath.Join(dir, "q.tsq"))
	req, err := ParseRequest(qDER)
	if err != nil {
		t.Fatal(err)
	}

	for _, essAlg := range []string{"sha256", "sha1"} {
		t.Run("ess_cert_id_alg="+essAlg, func(t *testing.T) {
			cfg := filepath.Join(dir, "tsa-"+essAlg+".cnf")
			serial := filepath.Join(dir, "serial-"+essAlg)
			os.WriteFile(serial, []byte("01\n"), 0o644)
			os.WriteFile(cfg, []byte(`[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
serial = `+serial+`
crypto_device = builtin
signer_cert = `+filepath.Join(dir, "foreign-tsa.pem")+`
certs = `+filepath.Join(dir, "foreign-chain.pem")+`
signer_key = `+filepath.Join(dir, "foreign-tsa.key")+`
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = `+essAlg+`
`), 0o644)
			out := filepath.Join(dir, "foreign-"+essAlg+".tsr")
			runOpenSSL(t, bin, dir, "ts", "-reply", "-config", cfg, "-queryfile", "q.tsq", "-out", out)
			rDER, _ := os.ReadFile(out)
			opts := VerifyOptions{Roots: ours.roots, Digest: digestOf(crypto.SHA256, data), Hash: crypto.SHA256, Nonce: req.Nonce}
			if _, err := Verify(rDER, opts); !errors.Is(err, ErrChain) {
				t.Fatalf("foreign token against our root: %v, want ErrChain", err)
			}
			opts.Roots = foreign.roots
			info, err := Verify(rDER, opts)
			if err != nil {
				t.Fatalf("foreign token against its own root: %v", err)
			}
			if info.Policy.String() != "1.2.3.4.1" || !info.Ordering || info.Accuracy != 1500100*time.Microsecond || info.TSAName == "" {
				t.Errorf("parsed OpenSSL token: %+v", info)
			}
		})
	}
}

// The token in batch Evidence is an ordinary RFC 3161 token over the
// Merkle root, so OpenSSL verifies it given the root as digest.
func TestOpenSSLVerifiesBatchToken(t *testing.T) {
	bin := requireOpenSSL(t)
	dir := t.TempDir()
	p := newTestPKI(t, "batch-interop")
	writePEM(t, filepath.Join(dir, "root.pem"), p.root)
	writePEM(t, filepath.Join(dir, "intermediate.pem"), p.inter)
	var b Batch
	for i := 0; i < 5; i++ {
		b.Add(digestOf(crypto.SHA256, []byte{byte(i)}))
	}
	ev, err := b.Seal(context.Background(), LocalStamper(newTestAuthority(t, p, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root.tst"), ev[3].Token, 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOpenSSL(t, bin, dir, "ts", "-verify", "-digest", hex.EncodeToString(ev[3].Root), "-token_in", "-in", "root.tst",
		"-CAfile", "root.pem", "-untrusted", "intermediate.pem")
	if !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify:\n%s", out)
	}
}
