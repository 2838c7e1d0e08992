package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

type tokenReq struct {
	method, ctype, body string
	basicID, basicPW    string
}

func (f *fixture) post(t *testing.T, r tokenReq) *httptest.ResponseRecorder {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req := httptest.NewRequest(r.method, "/token", strings.NewReader(r.body))
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.basicID != "" {
		req.SetBasicAuth(url.QueryEscape(r.basicID), url.QueryEscape(r.basicPW))
	}
	rec := httptest.NewRecorder()
	f.a.TokenHandler().ServeHTTP(rec, req)
	return rec
}

const form = "application/x-www-form-urlencoded"

func TestTokenEndpointAndRequire(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		cred, err := f.a.Create(context.Background(), testSubsystem)
		if err != nil {
			t.Fatal(err)
		}
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {cred.KeyID}, "client_secret": {cred.Secret}}
		for name, r := range map[string]tokenReq{
			"basic": {ctype: form, body: "grant_type=client_credentials", basicID: cred.KeyID, basicPW: cred.Secret},
			"form":  {ctype: form + "; charset=UTF-8", body: v.Encode()},
		} {
			t.Run(name, func(t *testing.T) {
				rec := f.post(t, r)
				if rec.Code != http.StatusOK {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Fatal("missing Cache-Control: no-store")
				}
				var resp map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
					t.Fatal(err)
				}
				if resp["token_type"] != "Bearer" || resp["expires_in"] != float64(3600) || resp["access_token"] == "" {
					t.Fatalf("response %v", resp)
				}
				var got Principal
				h := f.a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got, _ = PrincipalFrom(r.Context())
				}))
				req := httptest.NewRequest(http.MethodGet, "/r1/x", nil)
				req.Header.Set("Authorization", "Bearer "+resp["access_token"].(string))
				out := httptest.NewRecorder()
				h.ServeHTTP(out, req)
				if out.Code != http.StatusOK || got.Subsystem != testSubsystem || got.KeyID != cred.KeyID {
					t.Fatalf("Require: %d %+v", out.Code, got)
				}
			})
		}
	})
}

func TestTokenEndpointErrors(t *testing.T) {
	f := newFixture(t, nil)
	cred, _ := f.a.Create(context.Background(), testSubsystem)
	grant := "grant_type=client_credentials"
	creds := "&client_id=" + url.QueryEscape(cred.KeyID) + "&client_secret=" + url.QueryEscape(cred.Secret)
	for _, tc := range []struct {
		name   string
		req    tokenReq
		status int
		code   string
	}{
		{"wrong secret basic", tokenReq{ctype: form, body: grant, basicID: cred.KeyID, basicPW: cred.Secret + "x"}, 401, "invalid_client"},
		{"wrong secret form", tokenReq{ctype: form, body: grant + "&client_id=" + cred.KeyID + "&client_secret=dxlcs_nope"}, 401, "invalid_client"},
		{"unknown key", tokenReq{ctype: form, body: grant, basicID: "dxlck_unknown", basicPW: cred.Secret}, 401, "invalid_client"},
		{"no credentials", tokenReq{ctype: form, body: grant}, 401, "invalid_client"},
		{"missing secret", tokenReq{ctype: form, body: grant + "&client_id=" + cred.KeyID}, 401, "invalid_client"},
		{"missing grant", tokenReq{ctype: form, body: strings.TrimPrefix(creds, "&")}, 400, "invalid_request"},
		{"wrong grant", tokenReq{ctype: form, body: "grant_type=password" + creds}, 400, "unsupported_grant_type"},
		{"repeated grant", tokenReq{ctype: form, body: grant + "&" + grant + creds}, 400, "invalid_request"},
		{"two auth methods", tokenReq{ctype: form, body: grant + creds, basicID: cred.KeyID, basicPW: cred.Secret}, 400, "invalid_request"},
		{"json content type", tokenReq{ctype: "application/json", body: `{"grant_type":"client_credentials"}`}, 400, "invalid_request"},
		{"no content type", tokenReq{body: grant + creds}, 400, "invalid_request"},
		{"oversized body", tokenReq{ctype: form, body: grant + creds + "&pad=" + strings.Repeat("a", DefaultMaxBodyBytes)}, 400, "invalid_request"},
		{"malformed body", tokenReq{ctype: form, body: grant + "&%zz"}, 400, "invalid_request"},
		{"GET", tokenReq{method: http.MethodGet, ctype: form}, 405, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := f.post(t, tc.req)
			var resp oauthError
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.status || resp.Error != tc.code {
				t.Fatalf("got %d %q, want %d %q", rec.Code, resp.Error, tc.status, tc.code)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("missing no-store")
			}
			if tc.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic") {
				t.Fatal("401 without WWW-Authenticate: Basic")
			}
			if strings.Contains(rec.Body.String(), cred.Secret) || strings.Contains(rec.Body.String(), cred.KeyID) {
				t.Fatal("error body echoes credentials")
			}
		})
	}
	// invalid_client never tells which part was wrong
	a := f.post(t, tokenReq{ctype: form, body: grant, basicID: cred.KeyID, basicPW: "dxlcs_wrong"}).Body.String()
	b := f.post(t, tokenReq{ctype: form, body: grant, basicID: "dxlck_wrong", basicPW: cred.Secret}).Body.String()
	if a != b {
		t.Fatalf("wrong secret and unknown key answer differently:\n%s\n%s", a, b)
	}
}

func TestRequireRefuses(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	cred, _ := f.a.Create(ctx, testSubsystem)
	tok, _ := f.a.Issue(ctx, cred.KeyID, cred.Secret)
	called := false
	h := f.a.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	for _, tc := range []struct {
		name, auth, code string
	}{
		{"missing", "", "auth_missing_token"},
		{"basic scheme", "Basic " + tok.AccessToken, "auth_missing_token"},
		{"garbage", "Bearer abc", "auth_invalid_token"},
		{"tampered", "Bearer " + tok.AccessToken + "x", "auth_invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var body ErrorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != 401 || body.Code != tc.code || body.Message == "" || rec.Header().Get("X-DXL-Error") != "true" {
				t.Fatalf("got %d %+v X-DXL-Error=%q", rec.Code, body, rec.Header().Get("X-DXL-Error"))
			}
			wa := rec.Header().Get("WWW-Authenticate")
			if !strings.HasPrefix(wa, "Bearer") || (tc.code == "auth_invalid_token") != strings.Contains(wa, `error="invalid_token"`) {
				t.Fatalf("WWW-Authenticate %q", wa)
			}
		})
	}
	// expired and revoked through the middleware
	f.clock.Advance(2 * time.Hour)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "bearer "+tok.AccessToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), "auth_token_expired") {
		t.Fatalf("expired: %d %s", rec.Code, rec.Body)
	}
	if called {
		t.Fatal("next called on a refused request")
	}
}

func TestConcurrentIssueVerify(t *testing.T) {
	f := newFixture(t, newBoltStore(t))
	ctx := context.Background()
	cred, _ := f.a.Create(ctx, testSubsystem)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				tok, err := f.a.Issue(ctx, cred.KeyID, cred.Secret)
				if err == nil {
					_, err = f.a.Verify(ctx, tok.AccessToken)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
