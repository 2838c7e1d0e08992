package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node"
)

// TestNodeConsoleGrantRevoke grants A's information system the REST
// service from the console: the call is then served, node.json and the
// audit log (with the account) follow; the revoke takes it back.
func TestNodeConsoleGrantRevoke(t *testing.T) {
	e := newEnv(t) // not parallel: it changes B's access rights
	if st := e.call(t, "/citizens/001"); st != http.StatusForbidden {
		t.Fatalf("before the grant: %d", st)
	}
	b := e.browser(t)
	tok := b.login("sam")
	rule := url.Values{"form_token": {tok}, "subject": {e.d.ClientA}, "service": {e.d.Service}, "method": {""}, "path": {""}}
	if st, body, h := b.do("POST", "/console/access/grant", rule); st != http.StatusSeeOther || h.Get("Location") != "/console/access?done=grant" {
		t.Fatalf("grant: %d %v\n%s", st, h, body)
	}
	if st := e.call(t, "/citizens/001"); st != http.StatusOK {
		t.Fatalf("after the grant: %d", st)
	}
	if got := e.rules(t); len(got) != 2 || got[1].Subject != e.d.ClientA || got[1].Service != e.d.Service {
		t.Fatalf("node.json after the grant: %+v", got)
	}
	if a := e.auditText(t); !strings.Contains(a, `"actor":"console:sam","action":"access.grant","target":"`+e.d.ClientA+`"`) {
		t.Fatalf("audit log after the grant:\n%s", a)
	}
	// Granting it again is the API's refusal, shown on the page.
	if st, body, _ := b.do("POST", "/console/access/grant", rule); st != http.StatusConflict || !strings.Contains(body, "access_exists") {
		t.Fatalf("second grant: %d\n%s", st, body)
	}
	// Field errors: a bad subject and a path without a slash.
	bad := url.Values{"form_token": {tok}, "subject": {"nobody"}, "service": {e.d.Service}, "method": {"GET"}, "path": {"citizens"}}
	if st, body, _ := b.do("POST", "/console/access/grant", bad); st != http.StatusBadRequest ||
		!strings.Contains(body, `id="subject-error"`) || !strings.Contains(body, `id="path-error"`) {
		t.Fatalf("bad grant: %d\n%s", st, body)
	}
	_, page, _ := b.do("GET", "/console/access", nil)
	if !regexp.MustCompile(`id="revoke-1"`).MatchString(page) {
		t.Fatalf("no revoke button for the new right:\n%s", page)
	}
	if st, body, h := b.do("POST", "/console/access/revoke", rule); st != http.StatusSeeOther || h.Get("Location") != "/console/access?done=revoke" {
		t.Fatalf("revoke: %d %v\n%s", st, h, body)
	}
	if st := e.call(t, "/citizens/002"); st != http.StatusForbidden {
		t.Fatalf("after the revoke: %d", st)
	}
	if got := e.rules(t); len(got) != 1 {
		t.Fatalf("node.json after the revoke: %+v", got)
	}
	if a := e.auditText(t); !strings.Contains(a, `"actor":"console:sam","action":"access.revoke"`) {
		t.Fatalf("audit log after the revoke:\n%s", a)
	}
}

// TestNodeConsoleRefusals: an auditor's change, a missing or foreign form
// token, a cross-origin post, an ended session and a wrong TOTP are each
// refused with a message, and nothing changes.
func TestNodeConsoleRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := len(e.rules(t))
	auditBefore := e.auditText(t)
	aud := e.browser(t)
	audTok := aud.login("khoa") // kiem switches to English in TestNodeConsolePages
	grant := func(tok string) url.Values {
		return url.Values{"form_token": {tok}, "subject": {e.d.ClientA}, "service": {e.d.Service + "x"}, "method": {""}, "path": {""}}
	}
	// The auditor's hand-made grant, revoke and credential: 403.
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/console/access/grant", grant(audTok)},
		{"/console/access/revoke", grant(audTok)},
		{"/console/credentials/create", url.Values{"form_token": {audTok}, "subsystem": {e.d.ClientA}}},
		{"/console/credentials/revoke", url.Values{"form_token": {audTok}, "key": {"k"}}},
	} {
		if st, body, _ := aud.do("POST", p.path, p.form); st != http.StatusForbidden || !strings.Contains(body, "không có quyền") {
			t.Errorf("auditor %s: %d\n%s", p.path, st, body)
		}
	}
	sm := e.browser(t)
	tok := sm.login("son")
	for _, tc := range []struct {
		name   string
		form   url.Values
		hdr    []string
		status int
	}{
		{"no form token", func() url.Values { f := grant(""); f.Del("form_token"); return f }(), nil, http.StatusForbidden},
		{"another session's token", grant(audTok), nil, http.StatusForbidden},
		{"cross-site", grant(tok), []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"other origin", grant(tok), []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}, http.StatusForbidden},
		{"unexpected field", func() url.Values { f := grant(tok); f.Set("admin", "1"); return f }(), nil, http.StatusBadRequest},
	} {
		if st, body, _ := sm.do("POST", "/console/access/grant", tc.form, tc.hdr...); st != tc.status {
			t.Errorf("%s: %d, want %d\n%s", tc.name, st, tc.status, body)
		}
	}
	// After logout the old cookie and token are worth nothing.
	old := sm.hc.Jar
	if st, _, _ := sm.do("POST", "/console/logout", url.Values{"form_token": {tok}}); st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	sm.hc.Jar = old
	if st, body, _ := sm.do("POST", "/console/access/grant", grant(tok)); st != http.StatusUnauthorized || !strings.Contains(body, "hết hạn") {
		t.Errorf("ended session: %d\n%s", st, body)
	}
	// A wrong or missing TOTP code: no session.
	for _, c := range []string{"000000", ""} {
		f := url.Values{"account": {"son"}, "password": {password}, "code": {c}}
		if st, _, _ := e.browser(t).do("POST", "/console/login", f); st != http.StatusUnauthorized {
			t.Errorf("login with code %q: %d", c, st)
		}
	}
	if got := len(e.rules(t)); got != before {
		t.Fatalf("a refused change reached node.json: %d rules, had %d", got, before)
	}
	if a := e.auditText(t); strings.Contains(strings.TrimPrefix(a, auditBefore), `"action":"access.`) {
		t.Fatalf("a refused change reached the audit log:\n%s", a)
	}
}

// TestNodeConsoleCredentials creates a consumer credential, sees its
// secret once, and revokes it.
func TestNodeConsoleCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	tok := b.login("ada")
	st, body, _ := b.do("POST", "/console/credentials/create", url.Values{"form_token": {tok}, "subsystem": {e.d.ClientB}})
	m := regexp.MustCompile(`<dt>Mã khóa</dt><dd class="mono">([^<]+)</dd>`).FindStringSubmatch(body)
	if st != 200 || m == nil || !strings.Contains(body, `id="secret"`) {
		t.Fatalf("create: %d\n%s", st, body)
	}
	key := m[1]
	if _, list, _ := b.do("GET", "/console/credentials", nil); !strings.Contains(list, key) || strings.Contains(list, `id="secret"`) {
		t.Fatalf("list after create:\n%s", list)
	}
	if a := e.auditText(t); !strings.Contains(a, `"actor":"console:ada","action":"credential.create","target":"`+key+`"`) {
		t.Fatalf("audit log:\n%s", a)
	}
	if st, _, h := b.do("POST", "/console/credentials/revoke", url.Values{"form_token": {tok}, "key": {key}}); st != http.StatusSeeOther ||
		h.Get("Location") != "/console/credentials?done=revoked" {
		t.Fatalf("revoke: %d", st)
	}
	if _, list, _ := b.do("GET", "/console/credentials", nil); strings.Contains(list, key) {
		t.Fatalf("revoked key still listed:\n%s", list)
	}
}

// TestNodeConsoleRateLimit: an override set in the console is in force at
// once (A's second read within the minute is refused), written to
// node.json and audited; removed, the calls pass again; a bad number is a
// field error.
func TestNodeConsoleRateLimit(t *testing.T) {
	e := newEnv(t) // not parallel: it changes B's access rights and limits
	b := e.browser(t)
	tok := b.login("tuan")
	rule := url.Values{"form_token": {tok}, "subject": {e.d.ClientA}, "service": {e.d.Service}, "method": {""}, "path": {""}}
	if st, _, _ := b.do("POST", "/console/access/grant", rule); st != http.StatusSeeOther {
		t.Fatalf("grant: %d", st)
	}
	defer b.do("POST", "/console/access/revoke", rule)
	limit := url.Values{"form_token": {tok}, "client": {e.d.ClientA}, "service": {e.d.Service}, "reads": {"1"}, "writes": {"1"}}
	bad := url.Values{"form_token": {tok}, "client": {e.d.ClientA}, "service": {e.d.Service}, "reads": {"một"}, "writes": {"1"}}
	if st, body, _ := b.do("POST", "/console/access/limit", bad); st != http.StatusBadRequest || !strings.Contains(body, `id="reads-error"`) {
		t.Fatalf("a bad number: %d\n%s", st, body)
	}
	if st, body, h := b.do("POST", "/console/access/limit", limit); st != http.StatusSeeOther || h.Get("Location") != "/console/access?done=limit_set" {
		t.Fatalf("set: %d\n%s", st, body)
	}
	if st := e.call(t, "/citizens/001"); st != http.StatusOK {
		t.Fatalf("first read: %d", st)
	}
	if st := e.call(t, "/citizens/002"); st != http.StatusTooManyRequests {
		t.Fatalf("second read within the minute: %d", st)
	}
	cfg, err := node.LoadConfig(e.d.B.Dir)
	if err != nil || len(cfg.RateLimits.Overrides) != 1 || cfg.RateLimits.Overrides[0].ReadsPerMin != 1 {
		t.Fatalf("node.json: %+v %v", cfg.RateLimits, err)
	}
	if a := e.auditText(t); !strings.Contains(a, `"actor":"console:tuan","action":"rate_limit.set"`) {
		t.Fatalf("audit log:\n%s", a)
	}
	remove := url.Values{"form_token": {tok}, "client": {e.d.ClientA}, "service": {e.d.Service}}
	if st, _, h := b.do("POST", "/console/access/limit-remove", remove); st != http.StatusSeeOther || h.Get("Location") != "/console/access?done=limit_remove" {
		t.Fatalf("remove: %d", st)
	}
	if st := e.call(t, "/citizens/003"); st != http.StatusOK {
		t.Fatalf("after the removal: %d", st)
	}
	if st, body, _ := b.do("POST", "/console/access/limit-remove", remove); st != http.StatusNotFound || !strings.Contains(body, "rate_limit_not_found") {
		t.Fatalf("removing it again: %d\n%s", st, body)
	}
}
