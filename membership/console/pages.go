package console

import (
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/state"
)

// certInfo is a certificate as the pages show it.
type certInfo struct {
	Subject  string
	Serial   string
	NotAfter time.Time
	DaysLeft int
	Expired  bool
}

func certOf(der []byte, now time.Time) certInfo {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return certInfo{Subject: "?"}
	}
	left := c.NotAfter.Sub(now)
	return certInfo{Subject: c.Subject.CommonName, Serial: c.SerialNumber.Text(16), NotAfter: c.NotAfter,
		DaysLeft: int(left.Hours() / 24), Expired: left <= 0}
}

type tsaInfo struct {
	Name, URL string
	Cert      certInfo
}

type dashboardData struct {
	Instance                    string
	Active, OtherMembers, Nodes int
	Subsystems, Services        int
	Pending                     int
	Version, Published          uint64
	Changed                     time.Time
	Age                         time.Duration
	Cluster                     state.ClusterStatus
	CA                          []certInfo
	TSAs                        []tsaInfo
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	now := c.cfg.Now()
	d := dashboardData{Cluster: c.st.Status()}
	if c.cfg.Publisher != nil {
		d.Published = c.cfg.Publisher.Version()
	}
	c.st.Read(func(st *state.State) {
		d.Instance, d.Version = st.Instance, st.Version
		for _, m := range st.Members {
			if m.Status == ident.MemberActive {
				d.Active++
			} else if m.Status != ident.MemberPending {
				d.OtherMembers++
			}
		}
		for _, n := range st.Nodes {
			if n.Status == ident.NodeActive {
				d.Nodes++
			}
		}
		d.Subsystems, d.Services = len(st.Subsystems), len(st.Services)
		for _, q := range st.Requests {
			if q.Status == state.RequestPending {
				d.Pending++
			}
		}
		for i := len(st.History) - 1; i >= 0; i-- { // the change that made this version
			if st.History[i].Index <= st.Version {
				d.Changed = st.History[i].Time
				break
			}
		}
		for _, der := range st.CAChain {
			d.CA = append(d.CA, certOf(der, now))
		}
		for _, t := range st.TSAs {
			d.TSAs = append(d.TSAs, tsaInfo{Name: t.Name, URL: t.URL, Cert: certOf(t.CertDER, now)})
		}
	})
	if !d.Changed.IsZero() {
		d.Age = now.Sub(d.Changed)
	}
	c.pages.Render(w, http.StatusOK, "dashboard", c.page(r, s, "dash.title", d))
}

type registrationsData struct {
	Filter   string
	Statuses []string
	Rows     []state.Request
}

func (c *Console) registrations(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	d := registrationsData{Filter: r.URL.Query().Get("status"), Statuses: []string{"pending", "approved", "rejected", "cancelled", "all"}}
	if !slices.Contains(d.Statuses, d.Filter) {
		d.Filter = "pending"
	}
	c.st.Read(func(st *state.State) {
		for _, q := range st.Requests {
			if d.Filter == "all" || string(q.Status) == d.Filter {
				q.NodeCSR, q.SignCSR = nil, nil
				d.Rows = append(d.Rows, q.Clone())
			}
		}
	})
	slices.SortFunc(d.Rows, func(x, y state.Request) int { return x.SubmittedAt.Compare(y.SubmittedAt) })
	c.pages.Render(w, http.StatusOK, "registrations", c.page(r, s, "reg.title", d))
}

type registrationData struct {
	Req     state.Request
	CanAct  bool
	History []state.HistoryEntry
	Reason  string // a reject form's reason, kept when it is sent back
}

// request reads one request and its history; ok false if unknown.
func (c *Console) request(id string) (d registrationData, ok bool) {
	c.st.Read(func(st *state.State) {
		var q state.Request
		if q, ok = st.Requests[id]; !ok {
			return
		}
		d.Req = q.Clone()
		for _, h := range st.History {
			if h.Target == id || h.Target == q.Member.String() {
				d.History = append(d.History, h)
			}
		}
	})
	return d, ok
}

func (c *Console) registration(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.showRegistration(w, r, s, http.StatusOK, "", "", nil)
}

// showRegistration renders request {id} with a notice, an error or field
// errors.
func (c *Console) showRegistration(w http.ResponseWriter, r *http.Request, s *webui.Session, status int, notice, errMsg string, fields map[string]string) {
	d, ok := c.request(r.PathValue("id"))
	if !ok {
		c.fail(w, r, s, http.StatusNotFound, "err.notfound")
		return
	}
	d.CanAct = allows(s.Role, RoleApprover) && d.Req.Status == state.RequestPending
	d.Reason = r.PostForm.Get("reason")
	p := c.page(r, s, "reg.title", d)
	p.Notice, p.Error, p.FieldErrors = notice, errMsg, fields
	switch r.URL.Query().Get("done") {
	case "approved":
		p.Notice = p.T("reg.approved", d.Req.ID)
	case "rejected":
		p.Notice = p.T("reg.rejected", d.Req.ID)
	}
	c.pages.Render(w, status, "registration", p)
}

func (c *Console) members(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	var rows []state.Member
	c.st.Read(func(st *state.State) {
		for _, id := range state.SortedKeys(st.Members) {
			m := st.Members[id]
			m.SignCert = nil
			rows = append(rows, m)
		}
	})
	c.pages.Render(w, http.StatusOK, "members", c.page(r, s, "mem.title", rows))
}

type memberData struct {
	CanAct     bool
	Reasons    []string // of a revocation (RFC 5280)
	Member     state.Member
	SignCert   *certInfo
	Subsystems []state.Subsystem
	Nodes      []nodeInfo
	History    []state.HistoryEntry
}

type nodeInfo struct {
	state.Node
	CertInfo certInfo
}

func (c *Console) member(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	id, now := r.PathValue("id"), c.cfg.Now()
	var d memberData
	found := false
	c.st.Read(func(st *state.State) {
		var m state.Member
		if m, found = st.Members[id]; !found {
			return
		}
		d.Member = m.Clone()
		if m.SignCert != nil {
			ci := certOf(m.SignCert.DER, now)
			d.SignCert = &ci
		}
		for _, k := range state.SortedKeys(st.Subsystems) {
			if st.Subsystems[k].Member == id {
				d.Subsystems = append(d.Subsystems, st.Subsystems[k])
			}
		}
		for _, k := range state.SortedKeys(st.Nodes) {
			if n := st.Nodes[k]; n.Member == id {
				d.Nodes = append(d.Nodes, nodeInfo{Node: n.Clone(), CertInfo: certOf(n.Cert.DER, now)})
			}
		}
		for _, h := range st.History {
			if h.Target == id || strings.HasPrefix(h.Target, id+"/") || h.Target == m.RequestID {
				d.History = append(d.History, h)
			}
		}
	})
	if !found {
		c.fail(w, r, s, http.StatusNotFound, "err.notfound")
		return
	}
	d.CanAct, d.Reasons = allows(s.Role, RoleApprover), revocationReasons
	p := c.page(r, s, "mem.title", d)
	switch r.URL.Query().Get("done") {
	case "suspend":
		p.Notice = p.T("mem.suspended")
	case "reactivate":
		p.Notice = p.T("mem.reactivated")
	case "revoke":
		p.Notice = p.T("mem.revoked")
	}
	c.pages.Render(w, http.StatusOK, "member", p)
}

// maxHistoryRows caps the history page; the full history is the API's
// export (dxl registry history export).
const maxHistoryRows = 500

type historyData struct {
	Query    string
	Rows     []state.HistoryEntry
	Checked  int
	ChainErr string
}

func (c *Console) history(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		q = q[:200]
	}
	words := strings.Fields(strings.ToLower(q))
	d := historyData{Query: q}
	var all []state.HistoryEntry
	c.st.Read(func(st *state.State) { all = st.History[:len(st.History):len(st.History)] }) // append-only: see api.exportHistory
	n, err := state.VerifyHistory(all)
	d.Checked = n
	if err != nil {
		d.ChainErr = err.Error()
	}
	for i := len(all) - 1; i >= 0 && len(d.Rows) < maxHistoryRows; i-- {
		h := all[i]
		hay := strings.ToLower(strings.Join([]string{h.Actor, h.Action, h.Target, h.Detail}, " "))
		match := true
		for _, wd := range words {
			match = match && strings.Contains(hay, wd)
		}
		if match {
			d.Rows = append(d.Rows, h)
		}
	}
	c.pages.Render(w, http.StatusOK, "history", c.page(r, s, "hist.title", d))
}

type catalogueData struct {
	CanAct, CanAdmin bool
	Services         []state.Service
	Groups           []state.Group
	Policy           state.Policy
}

// catalogue shows the service catalogue, the global groups and the network
// policy (read-only here: changes go through dxl registry service, group
// and policy).
func (c *Console) catalogue(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	var d catalogueData
	c.st.Read(func(st *state.State) {
		for _, k := range state.SortedKeys(st.Services) {
			d.Services = append(d.Services, st.Services[k].Clone())
		}
		for _, k := range state.SortedKeys(st.Groups) {
			d.Groups = append(d.Groups, st.Groups[k].Clone())
		}
		d.Policy = st.Policy
	})
	d.CanAct, d.CanAdmin = allows(s.Role, RoleApprover), allows(s.Role, RoleAdministrator)
	p := c.page(r, s, "cat.title", d)
	if _, known := messages["cat.done_"+r.URL.Query().Get("done")]; known {
		p.Notice = p.T("cat.done_" + r.URL.Query().Get("done"))
	}
	c.pages.Render(w, http.StatusOK, "catalogue", p)
}
