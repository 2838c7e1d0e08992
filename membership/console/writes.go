package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/state"
)

// The registry's other writes, each through its admin API handler like
// approve (actions.go): revocation, groups, service lifecycle, the
// network policy and operator accounts.

// revocationReasons are the RFC 5280 reasons a revocation may give.
var revocationReasons = []string{"keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation", "privilegeWithdrawn", "unspecified"}

// refusedMsg is an API refusal in the user's language.
func refusedMsg(lang string, e *apiError) string {
	msg := messages.T(lang, "refused", e.code, e.message)
	if e.status == http.StatusForbidden {
		msg = messages.T(lang, "err.forbidden") + " " + msg
	}
	return msg
}

// write runs one API write for a form and goes back to page with done,
// or shows the refusal.
func (c *Console) write(w http.ResponseWriter, r *http.Request, s *webui.Session, method, path string, body any, page, done string) {
	if e := c.call(r, s, method, path, body); e != nil {
		c.failMsg(w, r, s, e.status, refusedMsg(webui.RequestLang(r, s), e))
		return
	}
	http.Redirect(w, r, page+"?done="+done, http.StatusSeeOther)
}

// need refuses an empty form field with a message in the user's language.
func (c *Console) need(w http.ResponseWriter, r *http.Request, s *webui.Session, values ...string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			c.failMsg(w, r, s, http.StatusBadRequest, messages.T(webui.RequestLang(r, s), "err.required"))
			return false
		}
	}
	return true
}

func (c *Console) revokeMember(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f := r.PostForm
	if !c.need(w, r, s, f.Get("member"), f.Get("reason"), f.Get("note")) {
		return
	}
	body := struct {
		Member string `json:"member"`
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}{f.Get("member"), f.Get("reason"), strings.TrimSpace(f.Get("note"))}
	c.write(w, r, s, http.MethodPost, "/v1/admin/members/revoke", body, Prefix+"members/"+f.Get("member"), "revoke")
}

func (c *Console) setGroup(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f := r.PostForm
	if !c.need(w, r, s, f.Get("code")) {
		return
	}
	body := struct {
		Description string   `json:"description"`
		Members     []string `json:"members"`
	}{strings.TrimSpace(f.Get("description")), strings.Fields(f.Get("members"))}
	c.write(w, r, s, http.MethodPut, "/v1/admin/groups/"+url.PathEscape(strings.TrimSpace(f.Get("code"))), body, Prefix+"catalogue", "group")
}

func (c *Console) deleteGroup(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.write(w, r, s, http.MethodDelete, "/v1/admin/groups/"+url.PathEscape(r.PostForm.Get("code")), struct{}{}, Prefix+"catalogue", "group_deleted")
}

func (c *Console) deprecateService(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f := r.PostForm
	sunset, err := time.Parse(time.DateOnly, f.Get("sunset"))
	if err != nil {
		c.failMsg(w, r, s, http.StatusBadRequest, messages.T(webui.RequestLang(r, s), "cat.bad_sunset"))
		return
	}
	body := struct {
		Service string    `json:"service"`
		Sunset  time.Time `json:"sunset"`
	}{f.Get("service"), sunset.UTC()}
	c.write(w, r, s, http.MethodPost, "/v1/admin/services/deprecate", body, Prefix+"catalogue", "deprecated")
}

func (c *Console) retireService(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	body := struct {
		Service string `json:"service"`
	}{r.PostForm.Get("service")}
	c.write(w, r, s, http.MethodPost, "/v1/admin/services/retire", body, Prefix+"catalogue", "retired")
}

// setPolicy replaces the network policy from its form: whole numbers and
// Go durations, each checked by the API as from the CLI.
func (c *Console) setPolicy(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f, lang := r.PostForm, webui.RequestLang(r, s)
	var p state.Policy
	var err error
	if p.RateLimitReadsPerMin, err = strconv.Atoi(f.Get("reads")); err == nil {
		p.RateLimitWritesPerMin, err = strconv.Atoi(f.Get("writes"))
	}
	for _, d := range []struct {
		field string
		dst   *state.Duration
	}{{"skew", &p.MaxClockSkew}, {"interval", &p.TimestampInterval}, {"validity", &p.ConfigValidity}, {"max_age", &p.MaxConfigAge}} {
		if err == nil {
			var v time.Duration
			v, err = time.ParseDuration(strings.TrimSpace(f.Get(d.field)))
			*d.dst = state.Duration(v)
		}
	}
	if err != nil {
		c.failMsg(w, r, s, http.StatusBadRequest, messages.T(lang, "pol.bad", err.Error()))
		return
	}
	c.write(w, r, s, http.MethodPut, "/v1/admin/policy", p, Prefix+"catalogue", "policy")
}

type operatorsData struct {
	Operators []struct {
		Name      string    `json:"name"`
		Role      string    `json:"role"`
		CreatedAt time.Time `json:"created_at"`
		CreatedBy string    `json:"created_by"`
	} `json:"operators"`
	Roles    []string
	NewName  string
	NewToken string
}

// operators lists the operator accounts of the API (administrators only:
// the API refuses the others).
func (c *Console) operators(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.showOperators(w, r, s, "", "")
}

func (c *Console) showOperators(w http.ResponseWriter, r *http.Request, s *webui.Session, name, token string) {
	raw, e := c.callFor(r, s, http.MethodGet, "/v1/admin/operators", nil)
	if e != nil {
		c.failMsg(w, r, s, e.status, refusedMsg(webui.RequestLang(r, s), e))
		return
	}
	d := operatorsData{Roles: []string{string(state.RoleViewer), string(state.RoleOperator), string(state.RoleAdmin)}, NewName: name, NewToken: token}
	_ = json.Unmarshal(raw, &d)
	p := c.page(r, s, "op.title", d)
	if r.URL.Query().Get("done") == "removed" {
		p.Notice = p.T("op.removed")
	}
	c.pages.Render(w, http.StatusOK, "operators", p)
}

// addOperator creates an operator token: shown once, on the answer page.
func (c *Console) addOperator(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	f := r.PostForm
	if !c.need(w, r, s, f.Get("name"), f.Get("role")) {
		return
	}
	body := struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}{strings.TrimSpace(f.Get("name")), f.Get("role")}
	raw, e := c.callFor(r, s, http.MethodPost, "/v1/admin/operators", body)
	if e != nil {
		c.failMsg(w, r, s, e.status, refusedMsg(webui.RequestLang(r, s), e))
		return
	}
	var out struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(raw, &out)
	w.Header().Set("Cache-Control", "no-store")
	c.showOperators(w, r, s, body.Name, out.Token)
}

func (c *Console) removeOperator(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.write(w, r, s, http.MethodDelete, "/v1/admin/operators/"+url.PathEscape(r.PostForm.Get("name")), struct{}{}, Prefix+"operators", "removed")
}
