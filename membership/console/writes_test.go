package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// TestConsoleWrites: the registry's writes beyond approval, each through
// the API's handler as the account: groups, a service's deprecation and
// retirement, a revocation with its RFC 5280 reason, the network policy
// and operator tokens (administrators only). An auditor, an approver
// without the administrator's right, and bad forms change nothing.
func TestConsoleWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g := devnet.Agency{Code: "000.00.00.G01", Name: "So Giao duc (agency G)", Subsystem: "GIAODUC"}
	reqG, err := e.nw.Submit(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	member, sub := e.nw.Member(g), e.nw.SubsystemID(g)
	b, aud, adm := e.browser(t), e.browser(t), e.browser(t)
	tok, audTok, admTok := b.login("quan"), aud.login("tam"), adm.login("sang")
	post := func(br *browser, path string, f url.Values) (int, string) {
		t.Helper()
		st, body, h := br.do("POST", "/console/"+path, f)
		if st == http.StatusSeeOther {
			return st, h.Get("Location")
		}
		return st, body
	}
	if st, _ := post(b, "registrations/"+reqG+"/approve", url.Values{"form_token": {tok}}); st != http.StatusSeeOther {
		t.Fatalf("approve: %d", st)
	}
	srv := e.nw.Registry.Server()
	read := func(f func(st *state.State)) { srv.Read(f) }

	// Groups.
	if st, _ := post(aud, "group-set", url.Values{"form_token": {audTok}, "code": {"so-nganh"}, "description": {"x"}, "members": {sub}}); st != http.StatusForbidden {
		t.Fatalf("auditor's group: %d", st)
	}
	if st, loc := post(b, "group-set", url.Values{"form_token": {tok}, "code": {"so-nganh"}, "description": {"Sở, ngành"}, "members": {sub}}); st != http.StatusSeeOther || !strings.HasSuffix(loc, "done=group") {
		t.Fatalf("group: %d %s", st, loc)
	}
	read(func(st *state.State) {
		if gr, ok := st.Groups["so-nganh"]; !ok || len(gr.Members) != 1 {
			t.Fatalf("group %+v", gr)
		}
	})
	if last := e.lastHistory("so-nganh"); last.Actor != "console:quan" || last.Action != "set_group" {
		t.Fatalf("history %+v", last)
	}
	if st, _ := post(b, "group-delete", url.Values{"form_token": {tok}, "code": {"so-nganh"}}); st != http.StatusSeeOther {
		t.Fatalf("group delete: %d", st)
	}
	read(func(st *state.State) {
		if _, ok := st.Groups["so-nganh"]; ok {
			t.Fatal("group kept")
		}
	})

	// A service's lifecycle.
	if err := e.nw.Publish(ctx, sub, "hoc-ba", "v1", nil); err != nil {
		t.Fatal(err)
	}
	svc := sub + "/hoc-ba/v1"
	if st, _ := post(b, "service-deprecate", url.Values{"form_token": {tok}, "service": {svc}, "sunset": {"next week"}}); st != http.StatusBadRequest {
		t.Fatalf("a bad sunset: %d", st)
	}
	sunset := time.Now().AddDate(0, 3, 0).Format(time.DateOnly)
	if st, _ := post(b, "service-deprecate", url.Values{"form_token": {tok}, "service": {svc}, "sunset": {sunset}}); st != http.StatusSeeOther {
		t.Fatalf("deprecate: %d", st)
	}
	if st, _ := post(b, "service-retire", url.Values{"form_token": {tok}, "service": {svc}}); st != http.StatusSeeOther {
		t.Fatalf("retire: %d", st)
	}
	read(func(st *state.State) {
		if l := st.Services[svc].Lifecycle; l != ident.ServiceRetired {
			t.Fatalf("lifecycle %s", l)
		}
	})

	testConsolePolicy(t, b, adm, tok, admTok, post)
	testConsoleOperators(t, e, b, adm, admTok, post)

	// Revocation: a note is required; then the member and its certificates.
	if st, _ := post(b, "member-revoke", url.Values{"form_token": {tok}, "member": {member}, "reason": {"keyCompromise"}, "note": {""}}); st != http.StatusBadRequest {
		t.Fatalf("revoke without a note: %d", st)
	}
	if st, loc := post(b, "member-revoke", url.Values{"form_token": {tok}, "member": {member}, "reason": {"keyCompromise"}, "note": {"lộ khoá"}}); st != http.StatusSeeOther || !strings.HasSuffix(loc, "done=revoke") {
		t.Fatalf("revoke: %d %s", st, loc)
	}
	if m, _ := srv.Member(member); m.Status != ident.MemberRevoked {
		t.Fatalf("member %s", m.Status)
	}
}

type poster func(br *browser, path string, f url.Values) (int, string)

// testConsolePolicy: an approver may not replace the policy; an
// administrator may, and a bad duration is refused.
func testConsolePolicy(t *testing.T, b, adm *browser, tok, admTok string, post poster) {
	t.Helper()
	p := state.DefaultPolicy()
	form := func(token, reads, skew string) url.Values {
		return url.Values{"form_token": {token}, "reads": {reads}, "writes": {"300"}, "skew": {skew},
			"interval": {time.Duration(p.TimestampInterval).String()}, "validity": {time.Duration(p.ConfigValidity).String()},
			"max_age": {time.Duration(p.MaxConfigAge).String()}}
	}
	if st, _ := post(b, "policy", form(tok, "2000", "2m0s")); st != http.StatusForbidden {
		t.Fatalf("approver's policy: %d", st)
	}
	if st, _ := post(adm, "policy", form(admTok, "2000", "two minutes")); st != http.StatusBadRequest {
		t.Fatalf("a bad duration: %d", st)
	}
	if st, loc := post(adm, "policy", form(admTok, "2000", "2m0s")); st != http.StatusSeeOther || !strings.HasSuffix(loc, "done=policy") {
		t.Fatalf("policy: %d %s", st, loc)
	}
	if _, body, _ := adm.do("GET", "/console/catalogue?done=policy", nil); !strings.Contains(body, `value="2000"`) {
		t.Fatal("the policy form does not show the new value")
	}
}

// testConsoleOperators: an administrator creates an operator token, shown
// once, that works against the API, and removes it; an approver sees no
// operators.
func testConsoleOperators(t *testing.T, e *env, b, adm *browser, admTok string, post poster) {
	t.Helper()
	if st, _, _ := b.do("GET", "/console/operators", nil); st != http.StatusForbidden {
		t.Fatalf("approver's operators page: %d", st)
	}
	st, body := post(adm, "operator-add", url.Values{"form_token": {admTok}, "name": {"ci-bot"}, "role": {"viewer"}})
	m := regexp.MustCompile(`id="token-value">([^<]+)<`).FindStringSubmatch(body)
	if st != http.StatusOK || m == nil {
		t.Fatalf("operator add: %d\n%s", st, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, _ := client.New([]string{strings.TrimSuffix(e.url, "/console/")}, client.WithRoots(e.roots), client.WithOperatorToken(m[1]))
	if _, err := cl.Status(ctx); err != nil {
		t.Fatalf("the new token: %v", err)
	}
	if st, _ := post(adm, "operator-remove", url.Values{"form_token": {admTok}, "name": {"ci-bot"}}); st != http.StatusSeeOther {
		t.Fatalf("operator remove: %d", st)
	}
	if _, err := cl.Status(ctx); !errors.Is(err, state.ErrUnauthenticated) {
		t.Fatalf("the removed token: %v", err)
	}
}
