package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node/oprec"
)

// recordFilter is the records page's filter, as the form sends it.
type recordFilter struct {
	From, To, Service, Client, Status, Role string
}

// recordQuery reads the filter of r and checks it: field errors by name.
func recordQuery(r *http.Request, lang string) (recordFilter, url.Values, map[string]string) {
	q := r.URL.Query()
	f := recordFilter{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Service: strings.TrimSpace(q.Get("service")), Client: strings.TrimSpace(q.Get("client")),
		Status: strings.TrimSpace(q.Get("status")), Role: q.Get("role")}
	out, bad := url.Values{}, map[string]string{}
	for _, p := range []struct{ name, v string }{{"from", f.From}, {"to", f.To}} {
		if p.v == "" {
			continue
		}
		if _, err := parseTime(p.v); err != nil {
			bad[p.name] = messages.T(lang, "rec.bad_time")
			continue
		}
		out.Set(p.name, p.v)
	}
	if f.Status != "" {
		if n, err := strconv.Atoi(f.Status); err != nil || n < 100 || n > 599 {
			bad["status"] = messages.T(lang, "rec.bad_status")
		} else {
			out.Set("status", f.Status)
		}
	}
	switch f.Role {
	case "", oprec.RoleConsumer, oprec.RoleProvider:
	default:
		bad["role"] = messages.T(lang, "rec.bad_role")
	}
	for k, v := range map[string]string{"service": f.Service, "client": f.Client, "role": f.Role} {
		if v != "" && bad[k] == "" {
			out.Set(k, v)
		}
	}
	return f, out, bad
}

// parseTime takes a date (YYYY-MM-DD) or RFC 3339, as the admin API does.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

type recordsData struct {
	Filter    recordFilter
	Records   []oprec.Record
	CSV, JSON template.URL // the download links, with the filter
	More      bool
	Requested bool
}

// pageLimit is how many records the page shows.
const pageLimit = 200

func (c *Console) records(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	lang := webui.RequestLang(r, s)
	f, q, bad := recordQuery(r, lang)
	d := recordsData{Filter: f, Requested: len(r.URL.RawQuery) > 0}
	// The filter's values are escaped by Encode; the links are the
	// console's own paths.
	d.CSV, d.JSON = template.URL(Prefix+"records.csv?"+q.Encode()), template.URL(Prefix+"records.json?"+q.Encode())
	if len(bad) == 0 {
		q.Set("limit", strconv.Itoa(pageLimit))
		rec, e := c.call(r, s, http.MethodGet, "/v1/records", q, nil)
		if e != nil {
			c.failAPI(w, r, s, e)
			return
		}
		if err := json.Unmarshal(rec.body.Bytes(), &d.Records); err != nil {
			c.site.Fail(w, r, s, http.StatusInternalServerError, "err.internal")
			return
		}
		d.More = rec.header.Get("X-Next-Cursor") != ""
	}
	p := c.site.Page(r, s, "rec.title", d)
	status := http.StatusOK
	if len(bad) > 0 {
		p.FieldErrors, p.Error, status = bad, p.T("err.fields"), http.StatusBadRequest
	}
	c.site.Pages.Render(w, status, "records", p)
}

// recordsDownload answers the filtered records as a file (format csv or
// json), up to the admin API's limit.
func (c *Console) recordsDownload(format string) webui.Handler {
	return func(w http.ResponseWriter, r *http.Request, s *webui.Session) {
		_, q, bad := recordQuery(r, webui.RequestLang(r, s))
		if len(bad) > 0 {
			c.site.Fail(w, r, s, http.StatusBadRequest, "err.fields")
			return
		}
		q.Set("format", format)
		q.Set("limit", strconv.Itoa(oprec.MaxLimit))
		rec, e := c.call(r, s, http.MethodGet, "/v1/records", q, nil)
		if e != nil {
			c.failAPI(w, r, s, e)
			return
		}
		ctype := "text/csv; charset=utf-8"
		if format == "json" {
			ctype = "application/json"
		}
		download(w, ctype, "dxl-records."+format, rec.body.Bytes())
	}
}

func download(w http.ResponseWriter, ctype, name string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(body)
}

type evidenceData struct{ RequestID string }

func (c *Console) evidence(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.show(w, r, s, "evidence", "ev.title", evidenceData{RequestID: strings.TrimSpace(r.URL.Query().Get("request_id"))})
}

// evidenceDownload answers a request's evidence bundle (GET
// /v1/log/evidence, audited by the node as log.export).
func (c *Console) evidenceDownload(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	id := strings.TrimSpace(r.URL.Query().Get("request_id"))
	rec, e := c.call(r, s, http.MethodGet, "/v1/log/evidence", url.Values{"request_id": {id}}, nil)
	if e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	download(w, "application/json", "dxl-evidence-"+safeName(id)+".json", rec.body.Bytes())
}

// safeName keeps the characters of a request ID a file name may hold.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' {
			return r
		}
		return -1
	}, s)
}

type reconcileData struct {
	Member, From, To string
	Report           json.RawMessage
}

// reconcile shows the form and, when it is filled in, the reconciliation
// report with that member (POST /v1/reconcile: reads only, audited).
func (c *Console) reconcile(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	q := r.URL.Query()
	d := reconcileData{Member: strings.TrimSpace(q.Get("member")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	p := c.site.Page(r, s, "rc.title", &d)
	if d.Member == "" && d.From == "" && d.To == "" {
		c.site.Pages.Render(w, http.StatusOK, "reconcile", p)
		return
	}
	bad := map[string]string{}
	var from, to time.Time
	var err error
	if d.Member == "" {
		bad["member"] = p.T("rc.member_needed")
	}
	if from, err = parseTime(d.From); err != nil {
		bad["from"] = p.T("rec.bad_time")
	}
	if to, err = parseTime(d.To); err != nil {
		bad["to"] = p.T("rec.bad_time")
	}
	if len(bad) > 0 {
		p.FieldErrors, p.Error = bad, p.T("err.fields")
		c.site.Pages.Render(w, http.StatusBadRequest, "reconcile", p)
		return
	}
	body := map[string]any{"member": d.Member, "from": from, "to": to}
	rec, e := c.call(r, s, http.MethodPost, "/v1/reconcile", nil, body)
	if e != nil {
		p.Error = refusal(p.Lang, e)
		c.site.Pages.Render(w, e.Status, "reconcile", p)
		return
	}
	d.Report = json.RawMessage(rec.body.Bytes())
	c.site.Pages.Render(w, http.StatusOK, "reconcile", p)
}
