package console

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/audit"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

// health is the part of the node's level-1 report (GET /v1/health) the
// dashboard shows.
type health struct {
	Status        string `json:"status"`
	Member        string `json:"member"`
	PeerID        string `json:"peer_id"`
	ConfigVersion uint64 `json:"config_version"`
	ConfigAge     string `json:"config_age"`
	ConfigError   string `json:"config_error"`
	Timestamps    struct {
		Pending      uint64    `json:"pending"`
		Lag          string    `json:"lag"`
		LastStamp    time.Time `json:"last_stamp"`
		LastTSAError string    `json:"last_tsa_error"`
	} `json:"timestamps"`
	PeersOnline int                   `json:"peers_online"`
	Peers       []transport.PeerState `json:"peers"`
}

type dashboardData struct {
	Health   health
	Services []oprec.HealthSample // the latest level-2 check of each provided service
	History  []oprec.HealthSample // the newest checks
}

func (c *Console) show(w http.ResponseWriter, r *http.Request, s *webui.Session, name, title string, data any) {
	c.site.Pages.Render(w, http.StatusOK, name, c.site.Page(r, s, title, data))
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	var d dashboardData
	if e := c.getJSON(r, s, "/v1/health", nil, &d.Health); e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	if e := c.getJSON(r, s, "/v1/health/history", url.Values{"limit": {"200"}}, &d.History); e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	slices.SortStableFunc(d.History, func(a, b oprec.HealthSample) int { return b.Time.Compare(a.Time) })
	seen := map[string]bool{}
	for _, h := range d.History {
		if !seen[h.Service] {
			seen[h.Service] = true
			d.Services = append(d.Services, h)
		}
	}
	slices.SortFunc(d.Services, func(a, b oprec.HealthSample) int { return strings.Compare(a.Service, b.Service) })
	if len(d.History) > 20 {
		d.History = d.History[:20]
	}
	c.show(w, r, s, "dashboard", "dash.title", d)
}

// providedService is an entry of GET /v1/services.
type providedService struct {
	Subsystem string `json:"subsystem"`
	Code      string `json:"code"`
	Versions  []struct {
		Version      string    `json:"version"`
		Lifecycle    string    `json:"lifecycle"`
		DeprecatedAt time.Time `json:"deprecated_at"`
		Sunset       time.Time `json:"sunset"`
	} `json:"versions"`
}

func (c *Console) services(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	var list []providedService
	if e := c.getJSON(r, s, "/v1/services", nil, &list); e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	c.show(w, r, s, "services", "svc.title", list)
}

type accessData struct {
	Access      services.AccessConfig
	Limits      services.RateLimitConfig // node.json rate_limits in use
	Services    []string                 // service IDs provided, for the grant form
	Form        services.Rule
	CanChange   bool
	Done, Error string
	Fields      map[string]string
}

func (c *Console) access(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.showAccess(w, r, s, http.StatusOK, services.Rule{}, nil, nil)
}

// showAccess renders the access page with the form as sent and, after a
// refused change, its message (e) or its field errors.
func (c *Console) showAccess(w http.ResponseWriter, r *http.Request, s *webui.Session, status int, form services.Rule, e *apiError, fields map[string]string) {
	d := accessData{Form: form, CanChange: Allows(s.Role, RoleServiceManager), Fields: fields}
	if ae := c.getJSON(r, s, "/v1/access", nil, &d.Access); ae != nil {
		c.failAPI(w, r, s, ae)
		return
	}
	if ae := c.getJSON(r, s, "/v1/rate-limits", nil, &d.Limits); ae != nil {
		c.failAPI(w, r, s, ae)
		return
	}
	var list []providedService
	if ae := c.getJSON(r, s, "/v1/services", nil, &list); ae != nil {
		c.failAPI(w, r, s, ae)
		return
	}
	for _, ps := range list {
		d.Services = append(d.Services, ps.Subsystem+"/"+ps.Code)
	}
	p := c.site.Page(r, s, "acc.title", d)
	switch done := r.URL.Query().Get("done"); {
	case e != nil:
		p.Error = refusal(p.Lang, e)
	case len(fields) > 0:
		p.Error = p.T("err.fields")
	case done == "grant" || done == "revoke" || done == "limit_set" || done == "limit_remove":
		p.Notice = p.T("acc.done." + done)
	}
	p.FieldErrors = fields
	c.site.Pages.Render(w, status, "access", p)
}

type credentialsData struct {
	Records   []auth.Record
	CanChange bool
}

func (c *Console) credentials(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	d := credentialsData{CanChange: Allows(s.Role, RoleServiceManager)}
	if e := c.getJSON(r, s, "/v1/credentials", nil, &d.Records); e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	p := c.site.Page(r, s, "cred.title", d)
	if done := r.URL.Query().Get("done"); done == "revoked" {
		p.Notice = p.T("cred.revoked")
	}
	c.site.Pages.Render(w, http.StatusOK, "credentials", p)
}

type auditData struct {
	Q       string
	Entries []audit.Entry // newest first
	Total   int
}

func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	rec, e := c.call(r, s, http.MethodGet, "/v1/audit", nil, nil)
	if e != nil {
		c.failAPI(w, r, s, e)
		return
	}
	d := auditData{Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	sc := bufio.NewScanner(bytes.NewReader(rec.body.Bytes()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	q := strings.ToLower(d.Q)
	for sc.Scan() {
		var en audit.Entry
		if json.Unmarshal(sc.Bytes(), &en) != nil {
			continue
		}
		d.Total++
		if q == "" || strings.Contains(strings.ToLower(en.Actor+" "+en.Action+" "+en.Target+" "+en.Detail), q) {
			d.Entries = append(d.Entries, en)
		}
	}
	slices.Reverse(d.Entries)
	if len(d.Entries) > 500 {
		d.Entries = d.Entries[:500]
	}
	c.show(w, r, s, "audit", "audit.title", d)
}

// QueueView is the document delivery queues as the queues page shows
// them.
type QueueView struct {
	Outbox        []OutRow
	Inbox         []InRow
	Undeliverable []OutRow
}

// Section is one outgoing queue of the page.
type Section struct {
	ID, Title string // Title is a catalogue key
	Rows      []OutRow
}

// Sections are the outbox and the undeliverable documents.
func (v *QueueView) Sections() []Section {
	return []Section{{"outbox", "q.outbox", v.Outbox}, {"undeliverable", "q.undeliverable", v.Undeliverable}}
}

// OutRow is one recipient of a document this node sends.
type OutRow struct {
	DocumentID, Sender, Recipient, State, LastError string
	Attempts                                        int
	Updated                                         time.Time
	Receipt                                         bool // a signed receipt came back
}

// InRow is a document received for one of this node's subsystems.
type InRow struct {
	DocumentID, Sender, Recipient, State string
	Received, Acknowledged               time.Time
	ReceiptSent                          bool
}

func (c *Console) queues(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	var d *QueueView
	if c.cfg.Queues != nil {
		v, err := c.cfg.Queues.Queues()
		if err != nil {
			c.log.Error("reading the delivery queues failed", "error", err)
			c.site.Fail(w, r, s, http.StatusInternalServerError, "err.internal")
			return
		}
		d = &v
	}
	c.show(w, r, s, "queues", "q.title", d)
}
