package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
	"github.com/digitorus/timestamp"
)

func startServer(t testing.TB, a *Authority) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPStatusCodes(t *testing.T) {
	p := newTestPKI(t, "http")
	srv := startServer(t, newTestAuthority(t, p, nil))
	good := mustRequest(t, crypto.SHA256, digestOf(crypto.SHA256, []byte("h")), RequestOptions{CertReq: true})
	for _, tc := range []struct {
		name        string
		method      string
		path        string
		contentType string
		body        io.Reader
		length      int64 // -1: chunked
		status      int
		reply       bool // expect a TimeStampResp
		granted     bool
	}{
		{"granted", "POST", "/", ContentTypeQuery, bytes.NewReader(good), int64(len(good)), 200, true, true},
		{"content type with params", "POST", "/", ContentTypeQuery + "; charset=binary", bytes.NewReader(good), int64(len(good)), 200, true, true},
		{"rejection is 200", "POST", "/", ContentTypeQuery, strings.NewReader("garbage"), 7, 200, true, false},
		{"empty body is 200 rejection", "POST", "/", ContentTypeQuery, strings.NewReader(""), 0, 200, true, false},
		{"GET", "GET", "/", "", nil, 0, 405, false, false},
		{"PUT", "PUT", "/", ContentTypeQuery, bytes.NewReader(good), int64(len(good)), 405, false, false},
		{"no content type", "POST", "/", "", bytes.NewReader(good), int64(len(good)), 415, false, false},
		{"wrong content type", "POST", "/", "application/json", bytes.NewReader(good), int64(len(good)), 415, false, false},
		{"too large", "POST", "/", ContentTypeQuery, bytes.NewReader(make([]byte, MaxRequestSize+1)), MaxRequestSize + 1, 413, false, false},
		{"too large chunked", "POST", "/", ContentTypeQuery, io.LimitReader(zeroReader{}, 1<<20), -1, 413, false, false},
		{"other path", "POST", "/other", ContentTypeQuery, bytes.NewReader(good), int64(len(good)), 404, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tc.length
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST")
			}
			if !tc.reply {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != ContentTypeReply {
				t.Errorf("Content-Type %q", ct)
			}
			_, err = ParseToken(body)
			if tc.granted && err != nil {
				t.Fatalf("granted reply does not parse: %v", err)
			}
			if !tc.granted {
				checkRejection(t, body, timestamp.BadDataFormat)
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestClientRequest(t *testing.T) {
	p := newTestPKI(t, "client")
	srv := startServer(t, newTestAuthority(t, p, nil))
	ctx := context.Background()
	data := []byte("document")
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := digestOf(h, data)
		nonce := big.NewInt(987654321)
		resp, err := Request(ctx, srv.URL+"/", d, h, WithNonce(nonce), WithPolicy(DefaultPolicy))
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		info, err := Verify(resp, VerifyOptions{Roots: p.roots, Digest: d, Hash: h, Nonce: nonce})
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		if info.Nonce.Cmp(nonce) != 0 {
			t.Errorf("nonce not echoed: %v", info.Nonce)
		}
	}
	// Foreign policy: the TSA rejects, the client reports the rejection.
	_, err := Request(ctx, srv.URL+"/", digestOf(crypto.SHA256, data), crypto.SHA256, WithPolicy(mustOID("1.2.3.4")))
	var rej *RejectionError
	if !errors.As(err, &rej) || rej.Failure != timestamp.UnacceptedPolicy {
		t.Fatalf("foreign policy: %v", err)
	}
	// Not a TSA.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer plain.Close()
	if _, err := Request(ctx, plain.URL, digestOf(crypto.SHA256, data), crypto.SHA256); !errors.Is(err, ErrHTTP) {
		t.Fatalf("plain server: %v", err)
	}
	// Stamper interface.
	tok, err := NewClient(srv.URL+"/", WithoutCertificates()).Stamp(ctx, digestOf(crypto.SHA512, data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, VerifyOptions{Roots: p.roots, Intermediates: p.inters, TSACert: p.leaf, Digest: digestOf(crypto.SHA512, data), Hash: crypto.SHA512}); err != nil {
		t.Fatal(err)
	}
}

// A server that answers with someone else's nonce or digest is caught by
// the client.
func TestClientChecksReply(t *testing.T) {
	p := newTestPKI(t, "replay")
	a := newTestAuthority(t, p, nil)
	d := digestOf(crypto.SHA256, []byte("a"))
	canned, err := a.Stamp(mustRequest(t, crypto.SHA256, d, RequestOptions{Nonce: big.NewInt(1), CertReq: true}))
	if err != nil {
		t.Fatal(err)
	}
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ContentTypeReply)
		w.Write(canned)
	}))
	defer replay.Close()
	ctx := context.Background()
	if _, err := Request(ctx, replay.URL, d, crypto.SHA256); !errors.Is(err, ErrNonce) {
		t.Errorf("replayed nonce: %v", err)
	}
	if _, err := Request(ctx, replay.URL, digestOf(crypto.SHA256, []byte("b")), crypto.SHA256, WithNonce(big.NewInt(1))); !errors.Is(err, ErrImprint) {
		t.Errorf("other digest: %v", err)
	}
	if _, err := Request(ctx, replay.URL, d, crypto.SHA256, WithNonce(big.NewInt(1))); err != nil {
		t.Errorf("matching reply: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	p := newTestPKI(t, "config")
	nonCritical := leafTemplate("noncritical")
	nonCritical.ExtraExtensions = nil
	nonCritical.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	extraEKU := leafTemplate("extra")
	extraEKU.ExtraExtensions = nil
	extraEKU.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageServerAuth}
	noEKU := leafTemplate("none")
	noEKU.ExtraExtensions = nil
	expired := leafTemplate("expired")
	expired.NotAfter = time.Now().Add(-time.Minute)
	expired.NotBefore = time.Now().Add(-time.Hour)
	certSignOnly := leafTemplate("keyusage")
	certSignOnly.KeyUsage = x509.KeyUsageCertSign

	leafFrom := func(tmpl *x509.Certificate) Config {
		c, k := p.issueLeaf(t, tmpl)
		return Config{Signer: k, Chain: []*x509.Certificate{c, p.inter, p.root}}
	}
	other := mustKey(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"ok", Config{Signer: p.leafKey, Chain: p.chain()}, nil},
		{"leaf only", Config{Signer: p.leafKey, Chain: p.chain()[:1]}, nil},
		{"no signer", Config{Chain: p.chain()}, ErrConfig},
		{"no chain", Config{Signer: p.leafKey}, ErrConfig},
		{"key mismatch", Config{Signer: other, Chain: p.chain()}, ErrConfig},
		{"broken chain", Config{Signer: p.leafKey, Chain: []*x509.Certificate{p.leaf, p.root}}, ErrConfig},
		{"negative accuracy", Config{Signer: p.leafKey, Chain: p.chain(), Accuracy: -time.Second}, ErrConfig},
		{"non-critical EKU", leafFrom(nonCritical), ErrEKU},
		{"extra EKU", leafFrom(extraEKU), ErrEKU},
		{"no EKU", leafFrom(noEKU), ErrEKU},
		{"key usage without signing", leafFrom(certSignOnly), ErrEKU},
		{"expired", leafFrom(expired), ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Validate() = %v, want %v", err, tc.want)
			}
		})
	}
}

// A clock past the certificate's expiry makes Stamp answer systemFailure.
func TestStampExpiredCertificate(t *testing.T) {
	p := newTestPKI(t, "clock")
	now := time.Now()
	var clockNow = now
	a := newTestAuthority(t, p, func(c *Config) { c.Clock = func() time.Time { return clockNow } })
	clockNow = p.leaf.NotAfter.Add(time.Second)
	resp, err := a.Stamp(mustRequest(t, crypto.SHA256, make([]byte, 32), RequestOptions{}))
	if !errors.Is(err, ErrSystemFailure) {
		t.Fatalf("err = %v", err)
	}
	checkRejection(t, resp, timestamp.SystemFailure)
}

func TestVerifyFailures(t *testing.T) {
	p := newTestPKI(t, "ours")
	foreign := newTestPKI(t, "foreign")
	a := newTestAuthority(t, p, nil)
	fa := newTestAuthority(t, foreign, nil)
	d := digestOf(crypto.SHA256, []byte("evidence"))
	nonce := big.NewInt(77)
	req := mustRequest(t, crypto.SHA256, d, RequestOptions{Nonce: nonce, CertReq: true})
	ours, err := a.Stamp(req)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := fa.Stamp(req)
	if err != nil {
		t.Fatal(err)
	}
	// A token signed by a certificate without the timeStamping EKU, made
	// by bypassing Config.Validate.
	tlsTmpl := leafTemplate("not a tsa")
	tlsTmpl.ExtraExtensions = nil
	tlsTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tlsCert, tlsKey := p.issueLeaf(t, tlsTmpl)
	noEKU := forgeToken(t, tlsKey, []*x509.Certificate{tlsCert, p.inter}, req)
	// Same for a timeStamping EKU that is not critical.
	ncTmpl := leafTemplate("non-critical")
	ncTmpl.ExtraExtensions = nil
	ncTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	ncCert, ncKey := p.issueLeaf(t, ncTmpl)
	nonCritical := forgeToken(t, ncKey, []*x509.Certificate{ncCert, p.inter}, req)

	tampered := bytes.Clone(ours)
	i := bytes.Index(tampered, d)
	tampered[i] ^= 1 // flips a bit of the imprint inside the signed TSTInfo

	// Tokens without certificates: digitorus/timestamp.Parse checks no
	// signature on those, Verify must (with TSACert).
	reqNoCerts := mustRequest(t, crypto.SHA256, d, RequestOptions{Nonce: nonce})
	oursNoCerts, err := a.Stamp(reqNoCerts)
	if err != nil {
		t.Fatal(err)
	}
	tamperedNoCerts := bytes.Clone(oursNoCerts)
	tamperedNoCerts[bytes.Index(tamperedNoCerts, d)] ^= 1
	// Signed by another key in the name of our TSA certificate.
	impostor := forgeToken(t, mustKey(t), p.chain(), reqNoCerts)
	impostorWithCert := forgeToken(t, mustKey(t), p.chain(), req)
	// Carrying certificates, but not the signer's.
	withoutSignerCert := forgeTokenCerts(t, p.leafKey, p.leaf, reqNoCerts, p.inter)
	noCerts := func(o *VerifyOptions) { o.TSACert, o.Intermediates = p.leaf, p.inters }

	base := VerifyOptions{Roots: p.roots, Digest: d, Hash: crypto.SHA256, Nonce: nonce, Policy: DefaultPolicy}
	with := func(f func(*VerifyOptions)) VerifyOptions { o := base; f(&o); return o }
	for _, tc := range []struct {
		name string
		der  []byte
		opts VerifyOptions
		want error
	}{
		{"ok", ours, base, nil},
		{"bare token", mustSplit(t, ours), base, nil},
		{"foreign TSA", theirs, base, ErrChain},
		{"foreign TSA trusted", theirs, with(func(o *VerifyOptions) { o.Roots = foreign.roots }), nil},
		{"wrong digest", ours, with(func(o *VerifyOptions) { o.Digest = digestOf(crypto.SHA256, []byte("other")) }), ErrImprint},
		{"wrong hash", ours, with(func(o *VerifyOptions) { o.Hash = crypto.SHA512; o.Digest = make([]byte, 64) }), ErrImprint},
		{"wrong nonce", ours, with(func(o *VerifyOptions) { o.Nonce = big.NewInt(78) }), ErrNonce},
		{"wrong policy", ours, with(func(o *VerifyOptions) { o.Policy = mustOID("1.2.3") }), ErrPolicy},
		{"no timeStamping EKU", noEKU, base, ErrEKU},
		{"non-critical EKU", nonCritical, base, ErrEKU},
		{"tampered", tampered, base, ErrSignature},
		{"no certs", oursNoCerts, with(noCerts), nil},
		{"no certs, no TSACert", oursNoCerts, base, ErrSignerCert},
		{"no certs, TSACert of another TSA", oursNoCerts, with(func(o *VerifyOptions) { noCerts(o); o.TSACert = foreign.leaf }), ErrSignerCert},
		{"no certs, tampered", tamperedNoCerts, with(noCerts), ErrSignature},
		{"no certs, impostor key", impostor, with(noCerts), ErrSignature},
		{"impostor key with certificate", impostorWithCert, base, ErrSignature},
		{"certificates without the signer's", withoutSignerCert, with(noCerts), ErrSignerCert},
		{"garbage", []byte("nope"), base, ErrMalformed},
		{"truncated", ours[:len(ours)-10], base, ErrMalformed},
		{"rejection", a.rejected[timestamp.BadAlgorithm], base, ErrRejected},
		{"after expiry", ours, with(func(o *VerifyOptions) { o.CurrentTime = p.leaf.NotAfter.Add(time.Hour) }), ErrChain},
		{"no roots", ours, with(func(o *VerifyOptions) { o.Roots = nil }), ErrConfig},
		{"no digest", ours, with(func(o *VerifyOptions) { o.Digest = nil }), ErrConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.der, tc.opts)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify() = %v, want %v", err, tc.want)
			}
		})
	}
}

// A token whose TSA certificate is swapped for another one with the same
// issuer and serial, e.g. a re-issued certificate, fails the ESS binding.
func TestVerifySignerBinding(t *testing.T) {
	p := newTestPKI(t, "binding")
	a := newTestAuthority(t, p, nil)
	d := digestOf(crypto.SHA256, []byte("bind"))
	resp, err := a.Stamp(mustRequest(t, crypto.SHA256, d, RequestOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := leafTemplate("binding TSA")
	tmpl.SerialNumber = p.leaf.SerialNumber
	tmpl.Subject = pkix.Name{CommonName: "binding TSA", Organization: []string{"DXL test"}}
	twin := mkCert(t, tmpl, p.inter, p.leafKey.Public(), p.interKey) // same key, same serial, new cert
	_, err = Verify(resp, VerifyOptions{Roots: p.roots, Intermediates: p.inters, TSACert: twin, Digest: d, Hash: crypto.SHA256})
	if !errors.Is(err, ErrSignerCert) {
		t.Fatalf("Verify with a twin certificate: %v", err)
	}
}

func mustSplit(t testing.TB, resp []byte) []byte {
	t.Helper()
	tok, err := splitResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// forgeToken signs a token with any key and chain, skipping Config checks.
func forgeToken(t testing.TB, key crypto.Signer, chain []*x509.Certificate, reqDER []byte) []byte {
	t.Helper()
	s, err := newTokenSigner(key, chain, DefaultPolicy, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(reqDER)
	if err != nil {
		t.Fatal(err)
	}
	tst, err := s.tstInfo(req, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.token(tst, req.CertReq)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.response(tok)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// forgeTokenCerts signs a token as leaf but carries only certs.
func forgeTokenCerts(t testing.TB, key crypto.Signer, leaf *x509.Certificate, reqDER []byte, certs ...*x509.Certificate) []byte {
	t.Helper()
	s, err := newTokenSigner(key, []*x509.Certificate{leaf}, DefaultPolicy, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(reqDER)
	if err != nil {
		t.Fatal(err)
	}
	tst, err := s.tstInfo(req, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sd, err := pkcs7.NewSignedData(tst)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(s.digestOID)
	sd.SetContentType(oidTSTInfo)
	if err := sd.AddSigner(leaf, key, pkcs7.SignerInfoConfig{ExtraSignedAttributes: s.attrs, SkipCertificates: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		sd.AddCertificate(c)
	}
	tok, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
