package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/client"
)

// Every write of the console is a call of the registry API's own admin
// handler (Admin.AsOperator): the same validation, role check, CA issuance
// and Apply as a request of the CLI with an operator token, and the same
// actor recorded in the history.

// recorder keeps an in-process API answer.
type recorder struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len() > 1<<20 { // an answer of an admin write is small
		return len(b), nil
	}
	return w.body.Write(b)
}

// apiError is a refusal of the API: its status, code and message.
type apiError struct {
	status        int
	code, message string
}

// call sends method path with body (JSON) to the API as s's operator; nil
// on a 2xx answer.
func (c *Console) call(r *http.Request, s *webui.Session, method, path string, body any) *apiError {
	_, e := c.callFor(r, s, method, path, body)
	return e
}

// callFor is call that also returns the answer of a 2xx.
func (c *Console) callFor(r *http.Request, s *webui.Session, method, path string, body any) ([]byte, *apiError) {
	op, err := actor(s)
	if err != nil {
		return nil, &apiError{http.StatusForbidden, "forbidden", err.Error()}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "internal", err.Error()}
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, bytes.NewReader(raw))
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "internal", err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = r.RemoteAddr
	rec := &recorder{header: http.Header{}}
	c.admin.AsOperator(op).ServeHTTP(rec, req)
	if rec.status >= 200 && rec.status < 300 {
		c.log.Info("console action", "account", s.Account, "role", s.Role, "method", method, "path", path)
		return rec.body.Bytes(), nil
	}
	var eb client.ErrorBody
	_ = json.Unmarshal(rec.body.Bytes(), &eb)
	c.log.Warn("console action refused", "account", s.Account, "role", s.Role, "path", path, "status", rec.status, "error_code", eb.Error.Code)
	return nil, &apiError{rec.status, eb.Error.Code, eb.Error.Message}
}

// refused renders the registration page with the API's refusal, with its
// status (403 for a role that lacks the right).
func (c *Console) refused(w http.ResponseWriter, r *http.Request, s *webui.Session, e *apiError) {
	c.showRegistration(w, r, s, e.status, "", refusedMsg(webui.RequestLang(r, s), e), nil)
}

func (c *Console) approve(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	id := r.PathValue("id")
	if e := c.call(r, s, http.MethodPost, "/v1/admin/registrations/"+url.PathEscape(id)+"/approve", struct{}{}); e != nil {
		c.refused(w, r, s, e)
		return
	}
	http.Redirect(w, r, Prefix+"registrations/"+url.PathEscape(id)+"?done=approved", http.StatusSeeOther)
}

func (c *Console) reject(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	id := r.PathValue("id")
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if reason == "" {
		lang := webui.RequestLang(r, s)
		c.showRegistration(w, r, s, http.StatusBadRequest, "", messages.T(lang, "reg.reason_needed"),
			map[string]string{"reason": messages.T(lang, "reg.reason_needed")})
		return
	}
	if e := c.call(r, s, http.MethodPost, "/v1/admin/registrations/"+url.PathEscape(id)+"/reject", client.ReasonBody{Reason: reason}); e != nil {
		c.refused(w, r, s, e)
		return
	}
	http.Redirect(w, r, Prefix+"registrations/"+url.PathEscape(id)+"?done=rejected", http.StatusSeeOther)
}

// memberAction suspends or reactivates a member (form fields member and
// reason) through POST /v1/admin/members/{action}.
func (c *Console) memberAction(action string) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, s *webui.Session) {
		id, reason := r.PostForm.Get("member"), strings.TrimSpace(r.PostForm.Get("reason"))
		lang := webui.RequestLang(r, s)
		back := Prefix + "members/" + id
		if reason == "" {
			c.failMsg(w, r, s, http.StatusBadRequest, messages.T(lang, "mem.reason_needed"))
			return
		}
		body := struct {
			Member string `json:"member"`
			Reason string `json:"reason"`
		}{id, reason}
		if e := c.call(r, s, http.MethodPost, "/v1/admin/members/"+action, body); e != nil {
			c.failMsg(w, r, s, e.status, refusedMsg(lang, e))
			return
		}
		http.Redirect(w, r, back+"?done="+action, http.StatusSeeOther)
	}
}
