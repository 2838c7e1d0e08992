package tsa

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/keystore"
)

// issuer returns an IssueFunc backed by the test PKI's intermediate;
// tweak edits the leaf template (or swaps the key) before signing.
func (p *testPKI) issuer(t testing.TB, tweak func(tmpl *x509.Certificate, pub *crypto.PublicKey)) IssueFunc {
	return func(ctx context.Context, csrDER []byte) ([]*x509.Certificate, error) {
		csr, err := x509.ParseCertificateRequest(csrDER)
		if err != nil {
			return nil, err
		}
		if err := csr.CheckSignature(); err != nil {
			return nil, err
		}
		tmpl := leafTemplate(csr.Subject.CommonName)
		tmpl.Subject = csr.Subject
		var pub crypto.PublicKey = csr.PublicKey
		if tweak != nil {
			tweak(tmpl, &pub)
		}
		return []*x509.Certificate{mkCert(t, tmpl, p.inter, pub, p.interKey), p.inter, p.root}, nil
	}
}

func TestInitOpen(t *testing.T) {
	p := newTestPKI(t, "dir")
	dir := filepath.Join(t.TempDir(), "tsa")
	pass := []byte("correct horse")
	ctx := context.Background()
	if err := Init(ctx, dir, pass, p.issuer(t, nil)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi.Mode(), err)
	}
	if err := Init(ctx, dir, pass, p.issuer(t, nil)); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v", err)
	}
	if _, _, err := Open(dir, []byte("wrong"), WithLogger(quietLogger())); !errors.Is(err, keystore.ErrDecrypt) {
		t.Fatalf("Open with wrong passphrase: %v", err)
	}

	stamp := func() *Info {
		t.Helper()
		a, closer, err := Open(dir, pass, WithLogger(quietLogger()))
		if err != nil {
			t.Fatal(err)
		}
		defer closer.Close()
		if a.Certificate().Subject.CommonName != CommonName || !a.Policy().Equal(DefaultPolicy) {
			t.Fatalf("opened %v / %v", a.Certificate().Subject, a.Policy())
		}
		d := digestOf(crypto.SHA256, []byte("dir"))
		var info *Info
		for i := 0; i < 3; i++ {
			resp, err := a.Stamp(mustRequest(t, crypto.SHA256, d, RequestOptions{CertReq: true}))
			if err != nil {
				t.Fatal(err)
			}
			if info, err = Verify(resp, VerifyOptions{Roots: p.roots, Digest: d, Hash: crypto.SHA256}); err != nil {
				t.Fatal(err)
			}
		}
		return info
	}
	first := stamp()
	second := stamp()
	if second.Serial.Cmp(first.Serial) <= 0 {
		t.Fatalf("serial went from %v to %v across restart", first.Serial, second.Serial)
	}
}

func TestInitRejectsBadCertificates(t *testing.T) {
	p := newTestPKI(t, "badinit")
	other := mustKey(t)
	for _, tc := range []struct {
		name  string
		tweak func(*x509.Certificate, *crypto.PublicKey)
		want  error
	}{
		{"other key", func(_ *x509.Certificate, pub *crypto.PublicKey) { *pub = other.Public() }, ErrConfig},
		{"no EKU", func(tmpl *x509.Certificate, _ *crypto.PublicKey) { tmpl.ExtraExtensions = nil }, ErrEKU},
		{"TLS EKU", func(tmpl *x509.Certificate, _ *crypto.PublicKey) {
			tmpl.ExtraExtensions = nil
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}, ErrEKU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Init(context.Background(), dir, []byte("pw"), p.issuer(t, tc.tweak))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Init: %v, want %v", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("key written despite failure: %v", err)
			}
		})
	}
	issueErr := errors.New("CA offline")
	err := Init(context.Background(), t.TempDir(), []byte("pw"), func(context.Context, []byte) ([]*x509.Certificate, error) { return nil, issueErr })
	if !errors.Is(err, issueErr) {
		t.Fatalf("Init with failing CA: %v", err)
	}
}

// The policy chosen at Init lands in tsa.json and in tokens; a 2.25.<UUID>
// policy is refused by Init and, written into tsa.json by hand, by Open.
func TestInitPolicy(t *testing.T) {
	p := newTestPKI(t, "dirpolicy")
	pass := []byte("pw")
	dir := filepath.Join(t.TempDir(), "tsa")
	pol := mustOID("1.3.6.1.4.1.99999.3161")
	if err := Init(context.Background(), dir, pass, p.issuer(t, nil), WithTSAPolicy(pol)); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadSettings(dir); err != nil || s.Policy != pol.String() {
		t.Fatalf("tsa.json policy %q, %v", s.Policy, err)
	}
	a, closer, err := Open(dir, pass, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	closer.Close()
	if !a.Policy().Equal(pol) {
		t.Fatalf("opened with policy %v", a.Policy())
	}

	uuid := asn1.ObjectIdentifier{2, 25, 1 << 40}
	other := t.TempDir()
	if err := Init(context.Background(), other, pass, p.issuer(t, nil), WithTSAPolicy(uuid)); !errors.Is(err, ErrConfig) {
		t.Fatalf("Init with a 41-bit arc: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key written despite a bad policy: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(`{"policy": "`+uuidPolicy+`", "accuracy": "1s"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(dir, pass, WithLogger(quietLogger()))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), SettingsFile) || !strings.Contains(err.Error(), "encoding/asn1") {
		t.Fatalf("Open with a 2.25.<UUID> policy: %v", err)
	}
}
