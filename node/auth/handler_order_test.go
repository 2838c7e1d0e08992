package auth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestTokenEndpointOrder pins which refusal a token request that breaks
// several rules gets: the first check in the order method, content type,
// body, repeated parameter, grant type, client authentication decides
// the status, the OAuth error and its description.
func TestTokenEndpointOrder(t *testing.T) {
	f := newFixture(t, nil)
	cred, err := f.a.Create(context.Background(), testSubsystem)
	if err != nil {
		t.Fatal(err)
	}
	grant := "grant_type=client_credentials"
	creds := "&client_id=" + url.QueryEscape(cred.KeyID) + "&client_secret=" + url.QueryEscape(cred.Secret)
	for _, tc := range []struct {
		name        string
		method      string
		ctype, body string
		basic       []string // raw user and password, not escaped
		status      int
		code, desc  string
	}{
		{"GET with JSON", http.MethodGet, "application/json", "{}", nil,
			405, oauthInvalidRequest, "method must be POST"},
		{"bad content type, bad body", "", "text/plain", "%zz", nil,
			400, oauthInvalidRequest, "content type must be application/x-www-form-urlencoded"},
		{"oversized and repeated", "", form, grant + "&" + grant + "&pad=" + strings.Repeat("a", DefaultMaxBodyBytes), nil,
			400, oauthInvalidRequest, "request body too large"},
		{"malformed and no grant", "", form, "%zz", nil,
			400, oauthInvalidRequest, "malformed form body"},
		{"repeated and no grant", "", form, "client_id=a&client_id=b", nil,
			400, oauthInvalidRequest, "repeated parameter"},
		{"no grant, two methods", "", form, strings.TrimPrefix(creds, "&"), []string{cred.KeyID, cred.Secret},
			400, oauthInvalidRequest, "grant_type is required"},
		{"wrong grant, no credentials", "", form, "grant_type=password", nil,
			400, oauthUnsupportedGrantType, "only client_credentials is supported"},
		{"two methods, bad escape", "", form, grant + "&client_secret=x", []string{"%zz", "y"},
			400, oauthInvalidRequest, "use one client authentication method"},
		{"basic, bad escape", "", form, grant, []string{"%zz", cred.Secret},
			401, oauthInvalidClient, "client authentication failed"},
		{"basic, empty secret", "", form, grant, []string{cred.KeyID, ""},
			401, oauthInvalidClient, "client authentication failed"},
		{"form, wrong secret", "", form, grant + "&client_id=" + url.QueryEscape(cred.KeyID) + "&client_secret=dxlcs_nope", nil,
			401, oauthInvalidClient, "client authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, "/token", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			if tc.basic != nil {
				req.SetBasicAuth(tc.basic[0], tc.basic[1])
			}
			rec := httptest.NewRecorder()
			f.a.TokenHandler().ServeHTTP(rec, req)
			var resp oauthError
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != tc.status || resp.Error != tc.code || resp.Description != tc.desc {
				t.Fatalf("got %d %q %q, want %d %q %q", rec.Code, resp.Error, resp.Description, tc.status, tc.code, tc.desc)
			}
			if allow := rec.Header().Get("Allow"); (tc.status == 405) != (allow == http.MethodPost) {
				t.Fatalf("status %d with Allow %q", tc.status, allow)
			}
		})
	}
}
