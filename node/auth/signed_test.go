package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dxl-network/dxl/node/auth"
)

const sub = "VN-TEST/GOV/000.00.00.H26/HOTICH"

type keysEnv struct {
	keys  *auth.AccessKeys
	store *auth.MemKeyStore
	srv   *httptest.Server
	now   atomic.Int64
}

// newKeys serves VerifyRequest (the body read to its end) at /, and the
// session endpoint.
func newKeys(t *testing.T) *keysEnv {
	t.Helper()
	e := &keysEnv{store: auth.NewMemKeyStore()}
	e.now.Store(time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC).UnixNano())
	k, err := auth.NewAccessKeys(auth.KeysConfig{Store: e.store, SealKey: bytes.Repeat([]byte{7}, 32),
		Now: func() time.Time { return time.Unix(0, e.now.Load()) }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.keys = k
	m := http.NewServeMux()
	m.Handle("POST "+auth.SessionPath, k.SessionHandler(nil, nil))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p, err := k.VerifyRequest(r)
		if err == nil {
			_, err = io.ReadAll(r.Body)
		}
		if err != nil {
			w.Header().Set("X-DXL-Error", auth.Codes.Code(err))
			w.WriteHeader(auth.Codes.Status(err))
			return
		}
		fmt.Fprint(w, p.Subsystem)
	})
	e.srv = httptest.NewServer(m)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *keysEnv) clock() time.Time { return time.Unix(0, e.now.Load()) }

// send signs a request with s, lets tamper change it, and returns the
// status and error code.
func (e *keysEnv) send(t *testing.T, s auth.RequestSigner, method, path string, body []byte, tamper func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	e.now.Add(int64(time.Second)) // every signature its own
	s.Now = e.clock
	if err := s.Sign(req, body); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && string(b) != sub && !strings.Contains(string(b), "session_key") {
		t.Fatalf("answer %q", b)
	}
	return resp.StatusCode, resp.Header.Get("X-DXL-Error")
}

func TestSignedRequestHMAC(t *testing.T) {
	e := newKeys(t)
	ik, err := e.keys.Create(context.Background(), auth.NewAccessKey{Subsystem: sub})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := e.store.GetKey(context.Background(), ik.AccessKey)
	if bytes.Contains(stored.SealedSecret, []byte(ik.Secret)) || len(stored.SealedSecret) == 0 {
		t.Fatal("secret not sealed")
	}
	s := auth.RequestSigner{Credential: ik.AccessKey, Secret: ik.Secret, Headers: []string{"content-type"}}
	body := []byte(`{"a":1}`)
	if st, code := e.send(t, s, "POST", "/r1/x?b=2&a=1%20x", body, nil); st != 200 {
		t.Fatalf("signed request: %d %s", st, code)
	}
	cases := []struct {
		name, code string
		tamper     func(*http.Request)
	}{
		{"body", "auth_body_mismatch", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"a":2}`))
		}},
		{"path", "auth_signature_invalid", func(r *http.Request) { r.URL.Path = "/r1/y" }},
		{"query", "auth_signature_invalid", func(r *http.Request) { r.URL.RawQuery = "b=2&a=1%20y" }},
		{"header", "auth_signature_invalid", func(r *http.Request) { r.Header.Set("Content-Type", "application/xml") }},
		{"method", "auth_signature_invalid", func(r *http.Request) { r.Method = "PUT" }},
		{"no date", "auth_signature_malformed", func(r *http.Request) { r.Header.Del(auth.HeaderDate) }},
		{"unsigned date", "auth_signature_malformed", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-dxl-date", "", 1))
		}},
	}
	for _, c := range cases {
		if st, code := e.send(t, s, "POST", "/r1/x?b=2&a=1%20x", body, c.tamper); st != 401 || code != c.code {
			t.Errorf("%s changed: %d %q, want 401 %s", c.name, st, code, c.code)
		}
	}
	// A replay: the same signed request twice.
	var saved *http.Request
	e.send(t, s, "GET", "/r1/once", nil, func(r *http.Request) { saved = r.Clone(context.Background()) })
	if st, code := e.send(t, s, "GET", "/r1/once", nil, func(r *http.Request) { r.Header = saved.Header }); code != "auth_replayed" {
		t.Errorf("replay: %d %q", st, code)
	}
	// A stale date: signed three minutes ago (skew 2 minutes).
	stale := s
	stale.Headers = nil
	stale.Now = func() time.Time { return e.clock().Add(-3 * time.Minute) }
	if st, code := e.sendAs(t, stale, "GET", "/r1/x"); code != "auth_signature_stale" {
		t.Errorf("stale: %d %q", st, code)
	}
	// Revoked.
	if _, err := e.keys.Revoke(context.Background(), ik.AccessKey); err != nil {
		t.Fatal(err)
	}
	if st, code := e.send(t, s, "GET", "/r1/x", nil, nil); code != "auth_access_key_revoked" {
		t.Errorf("revoked: %d %q", st, code)
	}
	s.Credential = "dxlak_unknown"
	if _, code := e.send(t, s, "GET", "/r1/x", nil, nil); code != "auth_unknown_access_key" {
		t.Errorf("unknown key: %q", code)
	}
	counted := e.keys.Collectors()[0].(*prometheus.CounterVec)
	for result, want := range map[string]float64{"ok": 3, "auth_body_mismatch": 1, "auth_replayed": 1, "auth_signature_invalid": 4, "auth_access_key_revoked": 1} {
		var m dto.Metric
		if err := counted.WithLabelValues(result).Write(&m); err != nil || m.GetCounter().GetValue() != want {
			t.Errorf("dxl_signed_requests_total{result=%q} = %v, want %v", result, m.GetCounter().GetValue(), want)
		}
	}
}

// sendAs signs with s's own clock.
func (e *keysEnv) sendAs(t *testing.T, s auth.RequestSigner, method, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	if err := s.Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("X-DXL-Error")
}

func TestSignedRequestSHA1OnlyWhereEnabled(t *testing.T) {
	e := newKeys(t)
	ctx := context.Background()
	plain, _ := e.keys.Create(ctx, auth.NewAccessKey{Subsystem: sub})
	old, _ := e.keys.Create(ctx, auth.NewAccessKey{Subsystem: sub, AllowSHA1: true})
	s := auth.RequestSigner{Algorithm: auth.AlgHMACSHA1, Credential: plain.AccessKey, Secret: plain.Secret}
	if st, code := e.send(t, s, "GET", "/x", nil, nil); st != 401 || code != "auth_algorithm_refused" {
		t.Errorf("SHA-1 with a key without it: %d %q", st, code)
	}
	s.Credential, s.Secret = old.AccessKey, old.Secret
	if st, code := e.send(t, s, "GET", "/x", nil, nil); st != 200 {
		t.Errorf("SHA-1 with a key allowing it: %d %q", st, code)
	}
}

func rsaKey(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestSignedRequestRSA(t *testing.T) {
	e := newKeys(t)
	priv, pub := rsaKey(t)
	ik, err := e.keys.Create(context.Background(), auth.NewAccessKey{Subsystem: sub, RSAPublicKey: pub})
	if err != nil || ik.Secret != "" || ik.Kind != auth.KindRSA {
		t.Fatalf("%+v %v", ik, err)
	}
	for _, alg := range []string{auth.AlgRSASHA256, auth.AlgRSAPSSSHA256} {
		s := auth.RequestSigner{Algorithm: alg, Credential: ik.AccessKey, RSAKey: priv}
		if st, code := e.send(t, s, "PUT", "/r1/x", []byte("v"), nil); st != 200 {
			t.Errorf("%s: %d %q", alg, st, code)
		}
		if _, code := e.send(t, s, "PUT", "/r1/x", []byte("v"), func(r *http.Request) { r.URL.Path = "/r1/z" }); code != "auth_signature_invalid" {
			t.Errorf("%s, path changed: %q", alg, code)
		}
	}
	hm := auth.RequestSigner{Credential: ik.AccessKey, Secret: "guess"}
	if _, code := e.send(t, hm, "GET", "/x", nil, nil); code != "auth_algorithm_refused" {
		t.Errorf("HMAC with an RSA key: %q", code)
	}
}

func TestSessionKey(t *testing.T) {
	e := newKeys(t)
	priv, pub := rsaKey(t)
	ik, _ := e.keys.Create(context.Background(), auth.NewAccessKey{Subsystem: sub, RSAPublicKey: pub})
	long := auth.RequestSigner{Credential: ik.AccessKey, RSAKey: priv, Now: e.clock}
	req, _ := http.NewRequest("POST", e.srv.URL+auth.SessionPath, nil)
	if err := long.Sign(req, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sess auth.Session
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || resp.StatusCode != 200 {
		t.Fatalf("session: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(sess.SessionKey, auth.SessionKeyPrefix) || sess.ExpiresIn != int64(auth.DefaultSessionLifetime/time.Second) {
		t.Fatalf("session %+v", sess)
	}
	s := auth.RequestSigner{Credential: sess.SessionKey, Secret: sess.SessionSecret}
	if st, code := e.send(t, s, "GET", "/r1/x", nil, nil); st != 200 {
		t.Fatalf("with the session key: %d %q", st, code)
	}
	if _, code := e.send(t, s, "POST", auth.SessionPath, nil, nil); code != "auth_algorithm_refused" {
		t.Errorf("session from a session key: %q", code)
	}
	wrong := s
	wrong.Secret += "x"
	if _, code := e.send(t, wrong, "GET", "/r1/x", nil, nil); code != "auth_signature_invalid" {
		t.Errorf("wrong session secret: %q", code)
	}
	e.now.Add(int64(auth.DefaultSessionLifetime))
	if _, code := e.send(t, s, "GET", "/r1/x", nil, nil); code != "auth_session_expired" {
		t.Errorf("expired session: %q", code)
	}
	// The seventeenth open session of one key ends its oldest.
	open := func() auth.Session {
		req, _ := http.NewRequest("POST", e.srv.URL+auth.SessionPath, nil)
		e.now.Add(int64(time.Second))
		long.Sign(req, nil)
		resp, err := e.srv.Client().Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("session: %v %v", resp, err)
		}
		defer resp.Body.Close()
		var ss auth.Session
		json.NewDecoder(resp.Body).Decode(&ss)
		return ss
	}
	first := open()
	s = auth.RequestSigner{Credential: first.SessionKey, Secret: first.SessionSecret}
	for range auth.MaxSessionsPerKey - 1 {
		open()
	}
	if st, _ := e.send(t, s, "GET", "/r1/x", nil, nil); st != 200 {
		t.Fatalf("the first of %d sessions: %d", auth.MaxSessionsPerKey, st)
	}
	open()
	if _, code := e.send(t, s, "GET", "/r1/x", nil, nil); code != "auth_session_expired" {
		t.Errorf("the oldest of %d+1 sessions: %q", auth.MaxSessionsPerKey, code)
	}
}

func TestCanonicalQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"":                   "",
		"b=2&a=1":            "a=1&b=2",
		"a=x+y&a=%41&c":      "a=A&a=x%20y&c=",
		"q=%c3%a9&&z=~-._*/": "q=%C3%A9&z=~-._%2A%2F",
	} {
		got, err := auth.CanonicalQuery(raw)
		if err != nil || got != want {
			t.Errorf("CanonicalQuery(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	if _, err := auth.CanonicalQuery("a=%zz"); err == nil {
		t.Error("bad percent-encoding accepted")
	}
}

// Example signs a request with an access key and its secret, as an
// information system calling its DXL node does.
func ExampleRequestSigner() {
	body := []byte(`{"so_dinh_danh":"001099000001"}`)
	req, _ := http.NewRequest("POST", "https://dxl-node.example:8443/r1/VN-TEST/GOV/000.00.00.G01/HOTICH/citizen/lookup?v=2", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	s := auth.RequestSigner{Credential: "dxlak_example", Secret: "dxlas_example", Headers: []string{"content-type"},
		Now: func() time.Time { return time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC) }}
	if err := s.Sign(req, body); err != nil {
		panic(err)
	}
	fmt.Println(req.Header.Get(auth.HeaderDate))
	fmt.Println(strings.SplitN(req.Header.Get("Authorization"), ", Signature=", 2)[0])
	// Output:
	// 20261207T093000Z
	// DXL-HMAC-SHA256 Credential=dxlak_example, SignedHeaders=content-type;host;x-dxl-content-sha256;x-dxl-date
}
