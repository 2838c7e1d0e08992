package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/dxl-network/dxl/internal/webui"
)

// Every page and action of the console is a request to the node's admin
// API (Admin.AdminAs), as the CLI sends on the admin socket: the same
// validation, the same audit entries, with the account as the actor.

// maxAnswer bounds what the console keeps of one admin answer (a records
// page or download is at most the API's limit of records).
const maxAnswer = 64 << 20

// recorder keeps an in-process admin answer.
type recorder struct {
	status int
	header http.Header
	body   bytes.Buffer
	over   bool
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
	if w.body.Len()+len(b) > maxAnswer {
		w.over = true
		return 0, fmt.Errorf("console: admin answer over %d bytes", maxAnswer)
	}
	return w.body.Write(b)
}

// apiError is a refusal of the admin API: its status, code and message.
type apiError struct {
	Status        int
	Code, Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// call sends method path (query in q, body as JSON unless nil) to the
// admin API as s's account and returns the answer's body.
func (c *Console) call(r *http.Request, s *webui.Session, method, path string, q url.Values, body any) (*recorder, *apiError) {
	var rd io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, &apiError{http.StatusInternalServerError, "internal", err.Error()}
		}
		rd = bytes.NewReader(raw)
	}
	u := path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(r.Context(), method, u, rd)
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "internal", err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = r.RemoteAddr
	rec := &recorder{header: http.Header{}}
	c.admin.AdminAs(ActorPrefix+s.Account).ServeHTTP(rec, req)
	if rec.status == 0 { // an empty answer: the handler wrote nothing
		rec.status = http.StatusOK
	}
	switch {
	case rec.over:
		return nil, &apiError{http.StatusInternalServerError, "too_large", fmt.Sprintf("answer over %d bytes: narrow the filter", maxAnswer)}
	case rec.status >= 200 && rec.status < 300:
		if method != http.MethodGet {
			c.log.Info("console action", "account", s.Account, "role", s.Role, "method", method, "path", path)
		}
		return rec, nil
	}
	var eb struct{ Code, Message string }
	_ = json.Unmarshal(rec.body.Bytes(), &eb)
	if eb.Code == "" {
		eb.Code = "internal"
	}
	c.log.Warn("console request refused by the admin API", "account", s.Account, "role", s.Role, "method", method, "path", path,
		"status", rec.status, "error_code", eb.Code)
	return nil, &apiError{rec.status, eb.Code, eb.Message}
}

// getJSON GETs path with q from the admin API into out.
func (c *Console) getJSON(r *http.Request, s *webui.Session, path string, q url.Values, out any) *apiError {
	rec, e := c.call(r, s, http.MethodGet, path, q, nil)
	if e != nil {
		return e
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return &apiError{http.StatusInternalServerError, "internal", err.Error()}
	}
	return nil
}

// refusal is an admin API refusal as a message in the page's language.
func refusal(lang string, e *apiError) string {
	msg := messages.T(lang, "refused", e.Code, e.Message)
	if e.Status == http.StatusForbidden {
		return messages.T(lang, "err.forbidden") + " " + msg
	}
	return msg
}

// failAPI renders the error page for an admin API refusal.
func (c *Console) failAPI(w http.ResponseWriter, r *http.Request, s *webui.Session, e *apiError) {
	status := e.Status
	if status < 400 {
		status = http.StatusInternalServerError
	}
	c.site.FailMsg(w, r, s, status, refusal(webui.RequestLang(r, s), e))
}
