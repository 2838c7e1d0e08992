package console

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/dxl-network/dxl/internal/webui"
)

// Roles of the node console's accounts.
const (
	RoleAdministrator  = "administrator"   // everything
	RoleServiceManager = "service_manager" // also access rights, credentials, reconciliation
	RoleAuditor        = "auditor"         // reads only
)

// Roles lists the roles, most powerful first.
var Roles = []string{RoleAdministrator, RoleServiceManager, RoleAuditor}

// MFARoles are the roles that can change state: their accounts must log
// in with a TOTP second factor.
var MFARoles = []string{RoleAdministrator, RoleServiceManager}

// Allows reports whether role includes need (a role of Roles).
func Allows(role, need string) bool {
	have, want := slices.Index(Roles, role), slices.Index(Roles, need)
	return have >= 0 && want >= 0 && have <= want
}

// ActorPrefix starts the actor name a console account's actions are
// recorded under in the node's audit log.
const ActorPrefix = "console:"

// Prefix is the console's path on the node's HTTPS listener.
const Prefix = "/console/"

// Admin serves the node's admin API (the admin socket's routes) in
// process, for an actor the caller authenticated; *node.Node implements
// it.
type Admin interface {
	AdminAs(actor string) http.Handler
}

// Queues reads the document delivery queues (optional).
type Queues interface {
	Queues() (QueueView, error)
}

// Config configures a Console.
type Config struct {
	// Queues, if set, feeds the delivery queues page.
	Queues Queues
	Logger *slog.Logger
	Now    func() time.Time
}

//go:embed pages
var pageFS embed.FS

// Console is the node console's HTTP handler, to be served under Prefix.
type Console struct {
	admin Admin
	site  *webui.Site
	cfg   Config
	log   *slog.Logger
	h     http.Handler
}

// New returns the console over the node's admin API, with logins checked
// by auth.
func New(admin Admin, auth *webui.Auth, cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{admin: admin, cfg: cfg, log: cfg.Logger.With("component", "node_console")}
	sub, _ := fs.Sub(pageFS, "pages")
	pages, err := webui.NewRenderer(sub, c.log)
	if err != nil {
		return nil, err
	}
	c.site = &webui.Site{Auth: auth, Pages: pages, Cat: messages, Prefix: Prefix, Log: c.log, Nav: nav, Allows: Allows}
	m, p, st := http.NewServeMux(), Prefix, c.site
	st.Routes(m)
	m.HandleFunc("GET "+p+"{$}", st.Get("", c.dashboard))
	m.HandleFunc("GET "+p+"services", st.Get("", c.services))
	m.HandleFunc("GET "+p+"access", st.Get("", c.access))
	m.HandleFunc("POST "+p+"access/grant", st.Post(RoleServiceManager, c.grant, "subject", "service", "method", "path"))
	m.HandleFunc("POST "+p+"access/revoke", st.Post(RoleServiceManager, c.revoke, "subject", "service", "method", "path"))
	m.HandleFunc("POST "+p+"access/limit", st.Post(RoleServiceManager, c.setLimit, "client", "service", "reads", "writes"))
	m.HandleFunc("POST "+p+"access/limit-remove", st.Post(RoleServiceManager, c.removeLimit, "client", "service"))
	m.HandleFunc("GET "+p+"credentials", st.Get("", c.credentials))
	m.HandleFunc("POST "+p+"credentials/create", st.Post(RoleServiceManager, c.createCredential, "subsystem"))
	m.HandleFunc("POST "+p+"credentials/revoke", st.Post(RoleServiceManager, c.revokeCredential, "key"))
	m.HandleFunc("GET "+p+"records", st.Get("", c.records))
	m.HandleFunc("GET "+p+"records.csv", st.Get("", c.recordsDownload("csv")))
	m.HandleFunc("GET "+p+"records.json", st.Get("", c.recordsDownload("json")))
	m.HandleFunc("GET "+p+"stats", st.Get("", c.stats))
	m.HandleFunc("GET "+p+"evidence", st.Get("", c.evidence))
	m.HandleFunc("GET "+p+"evidence.json", st.Get("", c.evidenceDownload))
	m.HandleFunc("GET "+p+"reconcile", st.Get("", c.reconcile))
	m.HandleFunc("GET "+p+"audit", st.Get("", c.audit))
	m.HandleFunc("GET "+p+"queues", st.Get("", c.queues))
	c.h = webui.Secure(m)
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.h.ServeHTTP(w, r) }

func nav(*webui.Session) []webui.NavItem {
	p := Prefix
	return []webui.NavItem{{Href: p, Key: "nav.dashboard"}, {Href: p + "services", Key: "nav.services"},
		{Href: p + "access", Key: "nav.access"}, {Href: p + "credentials", Key: "nav.credentials"},
		{Href: p + "records", Key: "nav.records"}, {Href: p + "stats", Key: "nav.stats"},
		{Href: p + "evidence", Key: "nav.evidence"}, {Href: p + "reconcile", Key: "nav.reconcile"},
		{Href: p + "queues", Key: "nav.queues"}, {Href: p + "audit", Key: "nav.audit"}}
}

// render renders page name with title and data for s.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *webui.Session, status int, name, title string, data any) *webui.Page {
	p := c.site.Page(r, s, title, data)
	c.site.Pages.Render(w, status, name, p)
	return p
}
