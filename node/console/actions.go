package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/services"
)

// The console's state changes: each is the admin API's own handler (the
// one `dxl node access` and `dxl node credential` call), reached in
// process as the account, after Site.Post checked the session, the form
// token and the role.

// ruleForm reads the access rule of a posted form and checks its fields
// as the admin API will (field errors in the page's language).
func ruleForm(r *http.Request, lang string) (services.Rule, map[string]string) {
	rule := services.Rule{Subject: strings.TrimSpace(r.PostForm.Get("subject")), Service: strings.TrimSpace(r.PostForm.Get("service")),
		Method: strings.ToUpper(strings.TrimSpace(r.PostForm.Get("method"))), Path: strings.TrimSpace(r.PostForm.Get("path"))}
	bad := map[string]string{}
	if _, err := services.ParseSubject(rule.Subject); err != nil {
		bad["subject"] = messages.T(lang, "acc.bad_subject")
	}
	if _, err := services.ParseServiceID(rule.Service); err != nil {
		bad["service"] = messages.T(lang, "acc.bad_service")
	}
	if rule.Path != "" && !strings.HasPrefix(rule.Path, "/") {
		bad["path"] = messages.T(lang, "acc.bad_path")
	}
	if rule.Method != "" && rule.Path == "" {
		bad["path"] = messages.T(lang, "acc.path_needed")
	}
	return rule, bad
}

func (c *Console) grant(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	rule, bad := ruleForm(r, webui.RequestLang(r, s))
	if len(bad) > 0 {
		c.showAccess(w, r, s, http.StatusBadRequest, rule, nil, bad)
		return
	}
	if _, e := c.call(r, s, http.MethodPost, "/v1/access", nil, rule); e != nil {
		c.showAccess(w, r, s, e.Status, rule, e, nil)
		return
	}
	http.Redirect(w, r, Prefix+"access?done=grant", http.StatusSeeOther)
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f := r.PostForm
	q := url.Values{"subject": {f.Get("subject")}, "service": {f.Get("service")}, "method": {f.Get("method")}, "path": {f.Get("path")}}
	if _, e := c.call(r, s, http.MethodDelete, "/v1/access", q, nil); e != nil {
		c.showAccess(w, r, s, e.Status, services.Rule{}, e, nil)
		return
	}
	http.Redirect(w, r, Prefix+"access?done=revoke", http.StatusSeeOther)
}

// setLimit sets a rate-limit override (client or service may be empty:
// any) through PUT /v1/rate-limits/override.
func (c *Console) setLimit(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f, lang := r.PostForm, webui.RequestLang(r, s)
	o := services.Override{Client: strings.TrimSpace(f.Get("client")), Service: strings.TrimSpace(f.Get("service"))}
	bad := map[string]string{}
	var err error
	if o.ReadsPerMin, err = strconv.Atoi(strings.TrimSpace(f.Get("reads"))); err != nil || o.ReadsPerMin < 0 {
		bad["reads"] = messages.T(lang, "acc.bad_number")
	}
	if o.WritesPerMin, err = strconv.Atoi(strings.TrimSpace(f.Get("writes"))); err != nil || o.WritesPerMin < 0 {
		bad["writes"] = messages.T(lang, "acc.bad_number")
	}
	if o.Client != "" {
		if _, err := services.ParseSubsystemID(o.Client); err != nil {
			bad["client"] = messages.T(lang, "acc.bad_client")
		}
	}
	if len(bad) > 0 {
		c.showAccess(w, r, s, http.StatusBadRequest, services.Rule{}, nil, bad)
		return
	}
	if _, e := c.call(r, s, http.MethodPut, "/v1/rate-limits/override", nil, o); e != nil {
		c.showAccess(w, r, s, e.Status, services.Rule{}, e, nil)
		return
	}
	http.Redirect(w, r, Prefix+"access?done=limit_set", http.StatusSeeOther)
}

func (c *Console) removeLimit(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	q := url.Values{"client": {r.PostForm.Get("client")}, "service": {r.PostForm.Get("service")}}
	if _, e := c.call(r, s, http.MethodDelete, "/v1/rate-limits/override", q, nil); e != nil {
		c.showAccess(w, r, s, e.Status, services.Rule{}, e, nil)
		return
	}
	http.Redirect(w, r, Prefix+"access?done=limit_remove", http.StatusSeeOther)
}

// createdData is the page that shows a new consumer secret, once.
type createdData struct {
	Credential auth.Credential
}

func (c *Console) createCredential(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	sub := strings.TrimSpace(r.PostForm.Get("subsystem"))
	lang := webui.RequestLang(r, s)
	if _, err := services.ParseSubsystemID(sub); err != nil {
		c.site.FailMsg(w, r, s, http.StatusBadRequest, messages.T(lang, "cred.bad_subsystem"))
		return
	}
	rec, e := c.call(r, s, http.MethodPost, "/v1/credentials", nil, map[string]string{"subsystem": sub})
	if e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	var d createdData
	if err := json.Unmarshal(rec.body.Bytes(), &d.Credential); err != nil {
		c.site.Fail(w, r, s, http.StatusInternalServerError, "err.internal")
		return
	}
	c.show(w, r, s, "credential_created", "cred.created_title", d)
}

func (c *Console) revokeCredential(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	key := strings.TrimSpace(r.PostForm.Get("key"))
	if _, e := c.call(r, s, http.MethodDelete, "/v1/credentials/"+url.PathEscape(key), nil, nil); e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	http.Redirect(w, r, Prefix+"credentials?done=revoked", http.StatusSeeOther)
}
