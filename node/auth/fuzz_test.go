package auth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzFixture is deterministic: fixed key, fixed clock, seeded randomness,
// so the first credential always has the same key ID and the committed seed
// token (testdata/fuzz/FuzzVerify/valid_token) verifies.
func fuzzFixture(t testing.TB) (*fixture, Credential) {
	f := newFixture(t, nil)
	cred, err := f.a.Create(context.Background(), testSubsystem)
	if err != nil {
		t.Fatal(err)
	}
	return f, cred
}

func FuzzVerify(f *testing.F) {
	fx, cred := fuzzFixture(f)
	tok, err := fx.a.Issue(context.Background(), cred.KeyID, cred.Secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.AccessToken)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := fx.a.Verify(context.Background(), token)
		if err == nil {
			if p.Subsystem != testSubsystem || p.KeyID != cred.KeyID {
				t.Fatalf("accepted token with principal %+v", p)
			}
			return
		}
		if Codes.Code(err) == "internal" {
			t.Fatalf("error without sentinel: %v", err)
		}
	})
}

// TestFuzzSeedValid keeps the committed seed corpus meaningful: its valid
// token must still verify. Regenerate with DXL_UPDATE_FUZZ_SEEDS=1.
func TestFuzzSeedValid(t *testing.T) {
	fx, cred := fuzzFixture(t)
	path := filepath.Join("testdata", "fuzz", "FuzzVerify", "valid_token")
	if os.Getenv("DXL_UPDATE_FUZZ_SEEDS") != "" {
		tok, err := fx.a.Issue(context.Background(), cred.KeyID, cred.Secret)
		if err != nil {
			t.Fatal(err)
		}
		write := func(name, s string) {
			data := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
			if err := os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzVerify", name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("valid_token", tok.AccessToken)
		write("truncated_token", tok.AccessToken[:len(tok.AccessToken)-20])
		write("garbage", "eyJhbGciOiJub25lIn0.e30.\x00\xff..garbage")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(strings.TrimPrefix(string(raw), "go test fuzz v1\nstring(\""), "\")\n")
	if p, err := fx.a.Verify(context.Background(), s); err != nil || p.Subsystem != testSubsystem {
		t.Fatalf("seed token no longer verifies: %v", err)
	}
}

// TestLogsHaveNoSecrets runs the whole flow with a capturing logger and
// checks that neither secrets nor tokens reach the log.
func TestLogsHaveNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	f := newFixture(t, nil)
	a, err := New(Config{NodeID: testNode, Key: f.a.cfg.Key, Store: f.store, Now: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cred, _ := a.Create(ctx, testSubsystem)
	rot, _ := a.Rotate(ctx, cred.KeyID)
	var tokens []string
	for _, secret := range []string{cred.Secret, rot.Secret} {
		body := url.Values{"grant_type": {"client_credentials"}, "client_id": {cred.KeyID}, "client_secret": {secret}}.Encode()
		req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		req.Header.Set("Content-Type", form)
		rec := httptest.NewRecorder()
		a.TokenHandler().ServeHTTP(rec, req)
		tokens = append(tokens, rec.Body.String())
	}
	tok, _ := a.Issue(ctx, rot.KeyID, rot.Secret)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken+"x")
	a.Require(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), req)
	_ = a.Revoke(ctx, cred.KeyID)

	log := buf.String()
	if !strings.Contains(log, "token issued") || !strings.Contains(log, "credential revoked") {
		t.Fatalf("expected events missing:\n%s", log)
	}
	for _, s := range []string{cred.Secret, rot.Secret, tok.AccessToken[:40], strings.Split(tok.AccessToken, ".")[2]} {
		if strings.Contains(log, s) {
			t.Fatalf("log contains a secret or token:\n%s", log)
		}
	}
}
