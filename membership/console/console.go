package console

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/state"
)

// Roles of the registry console's accounts.
const (
	RoleAdministrator = "administrator" // everything, the API's admin
	RoleApprover      = "approver"      // registrations, members, services, groups: the API's operator
	RoleAuditor       = "auditor"       // reads only: the API's viewer
)

// Roles lists the roles, most powerful first.
var Roles = []string{RoleAdministrator, RoleApprover, RoleAuditor}

// MFARoles are the roles that can change state: their accounts must log
// in with a TOTP second factor.
var MFARoles = []string{RoleAdministrator, RoleApprover}

// OperatorRole maps a console role onto the API's operator role.
func OperatorRole(role string) (state.Role, bool) {
	switch role {
	case RoleAdministrator:
		return state.RoleAdmin, true
	case RoleApprover:
		return state.RoleOperator, true
	case RoleAuditor:
		return state.RoleViewer, true
	}
	return "", false
}

// ActorPrefix starts the actor name a console account's writes are
// recorded under in the history.
const ActorPrefix = "console:"

// Prefix is the console's path on the API listener.
const Prefix = "/console/"

// Store is what the console reads of the registry; *store.Server
// implements it.
type Store interface {
	Read(fn func(st *state.State))
	Status() state.ClusterStatus
}

// Admin serves the registry API's admin endpoints for an operator the
// caller authenticated; *api.API implements it.
type Admin interface {
	AsOperator(op state.Operator) http.Handler
}

// Publisher reports the version of the signed global configuration being
// served; *membership.Publisher implements it (optional).
type Publisher interface {
	Version() uint64
}

// Config configures a Console.
type Config struct {
	Publisher Publisher
	Logger    *slog.Logger
	Now       func() time.Time
}

//go:embed pages
var pageFS embed.FS

// Console is the registry console's HTTP handler, to be served under
// Prefix.
type Console struct {
	st    Store
	admin Admin
	auth  *webui.Auth
	cfg   Config
	log   *slog.Logger
	pages *webui.Renderer
	mux   *http.ServeMux
	h     http.Handler
}

// New returns the console over st, writing through admin, with logins
// checked by auth.
func New(st Store, admin Admin, auth *webui.Auth, cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{st: st, admin: admin, auth: auth, cfg: cfg, log: cfg.Logger.With("component", "registry_console"), mux: http.NewServeMux()}
	var err error
	sub, _ := fs.Sub(pageFS, "pages")
	if c.pages, err = webui.NewRenderer(sub, c.log); err != nil {
		return nil, err
	}
	m, p := c.mux, Prefix
	m.Handle("GET "+p+"static/", webui.StaticHandler(p))
	m.HandleFunc("GET "+p+"login", c.loginPage)
	m.HandleFunc("POST "+p+"login", c.login)
	m.HandleFunc("POST "+p+"lang", c.setLang)
	m.HandleFunc("POST "+p+"logout", c.post("", c.logout))
	m.HandleFunc("GET "+p+"{$}", c.get(c.dashboard))
	m.HandleFunc("GET "+p+"registrations", c.get(c.registrations))
	m.HandleFunc("GET "+p+"registrations/{id}", c.get(c.registration))
	m.HandleFunc("POST "+p+"registrations/{id}/approve", c.post("", c.approve, "form_token"))
	m.HandleFunc("POST "+p+"registrations/{id}/reject", c.post("", c.reject, "form_token", "reason"))
	m.HandleFunc("GET "+p+"members", c.get(c.members))
	m.HandleFunc("GET "+p+"members/{id...}", c.get(c.member))
	m.HandleFunc("POST "+p+"member-suspend", c.post("", c.memberAction("suspend"), "form_token", "member", "reason"))
	m.HandleFunc("POST "+p+"member-reactivate", c.post("", c.memberAction("reactivate"), "form_token", "member", "reason"))
	m.HandleFunc("POST "+p+"member-revoke", c.post("", c.revokeMember, "form_token", "member", "reason", "note"))
	m.HandleFunc("POST "+p+"group-set", c.post("", c.setGroup, "form_token", "code", "description", "members"))
	m.HandleFunc("POST "+p+"group-delete", c.post("", c.deleteGroup, "form_token", "code"))
	m.HandleFunc("POST "+p+"service-deprecate", c.post("", c.deprecateService, "form_token", "service", "sunset"))
	m.HandleFunc("POST "+p+"service-retire", c.post("", c.retireService, "form_token", "service"))
	m.HandleFunc("POST "+p+"policy", c.post("", c.setPolicy, "form_token", "reads", "writes", "skew", "interval", "validity", "max_age"))
	m.HandleFunc("GET "+p+"operators", c.get(c.operators))
	m.HandleFunc("POST "+p+"operator-add", c.post("", c.addOperator, "form_token", "name", "role"))
	m.HandleFunc("POST "+p+"operator-remove", c.post("", c.removeOperator, "form_token", "name"))
	m.HandleFunc("GET "+p+"history", c.get(c.history))
	m.HandleFunc("GET "+p+"catalogue", c.get(c.catalogue))
	m.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		s, _ := c.auth.SessionOf(r)
		c.fail(w, r, s, http.StatusNotFound, "err.notfound")
	})
	c.h = webui.Secure(m)
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.h.ServeHTTP(w, r) }

type pageHandler func(w http.ResponseWriter, r *http.Request, s *webui.Session)

// get serves a page to any logged-in account (every role reads); without
// a session the browser goes to the login page.
func (c *Console) get(h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.auth.SessionOf(r)
		if err != nil {
			to := Prefix + "login"
			if _, had := r.Cookie(webui.CookieName); had == nil {
				to += "?m=expired"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		h(w, r, s)
	}
}

// post serves a state change: a live session, the form (only fields) and
// its form token, and, for need other than "", a role of at least need.
// Writes to the registry pass "": the API's own role check decides (the
// console's role maps onto an operator role, see actor), so there is one
// authorisation, not two that could disagree.
func (c *Console) post(need string, h pageHandler, fields ...string) http.HandlerFunc {
	if len(fields) == 0 {
		fields = []string{webui.FormTokenField}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.auth.SessionOf(r)
		if err != nil {
			c.fail(w, r, nil, http.StatusUnauthorized, "login.expired")
			return
		}
		if _, err := webui.ReadForm(w, r, fields...); err != nil {
			c.failMsg(w, r, s, http.StatusBadRequest, messages.T(webui.RequestLang(r, s), "err.badform", err.Error()))
			return
		}
		if err := webui.CheckFormToken(r, s); err != nil {
			c.log.Warn("console form refused: form token", "account", s.Account, "path", r.URL.Path, "remote", r.RemoteAddr)
			c.fail(w, r, s, http.StatusForbidden, "err.token")
			return
		}
		if need != "" && !allows(s.Role, need) {
			c.log.Warn("console action refused: role", "account", s.Account, "role", s.Role, "path", r.URL.Path)
			c.fail(w, r, s, http.StatusForbidden, "err.forbidden")
			return
		}
		h(w, r, s)
	}
}

// allows reports whether role includes need.
func allows(role, need string) bool {
	have, ok1 := OperatorRole(role)
	want, ok2 := OperatorRole(need)
	return ok1 && ok2 && have.Allows(want)
}

// page returns the page frame for r.
func (c *Console) page(r *http.Request, s *webui.Session, title string, data any) *webui.Page {
	p := &webui.Page{Lang: webui.RequestLang(r, s), Title: title, App: "app", Base: Prefix, Path: r.URL.RequestURI(),
		Session: s, Data: data, Cat: messages}
	if s != nil {
		cur := r.URL.Path
		for _, n := range []webui.NavItem{{Href: Prefix, Key: "nav.dashboard"}, {Href: Prefix + "registrations", Key: "nav.registrations"},
			{Href: Prefix + "members", Key: "nav.members"}, {Href: Prefix + "catalogue", Key: "nav.catalogue"},
			{Href: Prefix + "history", Key: "nav.history"}, {Href: Prefix + "operators", Key: "nav.operators"}} {
			if n.Key == "nav.operators" && !allows(s.Role, RoleAdministrator) {
				continue
			}
			n.Current = cur == n.Href || (n.Href != Prefix && strings.HasPrefix(cur, n.Href))
			p.Nav = append(p.Nav, n)
		}
	}
	return p
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *webui.Session, status int, key string) {
	c.failMsg(w, r, s, status, messages.T(webui.RequestLang(r, s), key))
}

func (c *Console) failMsg(w http.ResponseWriter, r *http.Request, s *webui.Session, status int, msg string) {
	p := c.page(r, s, "err.title", nil)
	p.Error = msg
	c.pages.Render(w, status, "error", p)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, nil, "login.title", nil)
	switch r.URL.Query().Get("m") {
	case "out":
		p.Notice = p.T("login.out")
	case "expired":
		p.Error = p.T("login.expired")
	}
	c.pages.Render(w, http.StatusOK, "login", p)
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	f, err := webui.ReadForm(w, r, "account", "password", "code")
	p := c.page(r, nil, "login.title", nil)
	if err != nil {
		p.Error = p.T("err.badform", err.Error())
		c.pages.Render(w, http.StatusBadRequest, "login", p)
		return
	}
	s, token, err := c.auth.Login(strings.TrimSpace(f["account"]), f["password"], strings.TrimSpace(f["code"]), r.RemoteAddr)
	var le *webui.LockedError
	switch {
	case errors.As(err, &le):
		p.Error = p.T("login.locked", webui.FormatTime(p.Lang, le.Until))
		c.pages.Render(w, http.StatusTooManyRequests, "login", p)
		return
	case errors.Is(err, webui.ErrBadCredentials):
		p.Error = p.T("login.bad")
		c.pages.Render(w, http.StatusUnauthorized, "login", p)
		return
	case err != nil:
		p.Error = p.T("err.internal")
		c.pages.Render(w, http.StatusInternalServerError, "login", p)
		return
	}
	if s.Lang == "" { // keep the language chosen before login
		if l := webui.RequestLang(r, nil); l != "" {
			_ = c.auth.Accounts().SetLang(s.Account, l)
		}
	}
	c.auth.SetCookie(w, token)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *webui.Session) {
	c.auth.EndOf(w, r)
	c.log.Info("console logout", "account", s.Account)
	http.Redirect(w, r, Prefix+"login?m=out", http.StatusSeeOther)
}

// setLang switches the language: stored in a cookie, and for a logged-in
// account in the account (a session's switch needs its form token).
func (c *Console) setLang(w http.ResponseWriter, r *http.Request) {
	f, err := webui.ReadForm(w, r, "lang", "return", webui.FormTokenField)
	if err != nil || !webui.ValidLang(f["lang"]) {
		c.fail(w, r, nil, http.StatusBadRequest, "err.notfound")
		return
	}
	if s, err := c.auth.SessionOf(r); err == nil {
		if webui.CheckFormToken(r, s) != nil {
			c.fail(w, r, s, http.StatusForbidden, "err.token")
			return
		}
		if err := c.auth.Accounts().SetLang(s.Account, f["lang"]); err != nil {
			c.log.Error("storing an account's language failed", "account", s.Account, "error", err)
		}
	}
	webui.SetLangCookie(w, f["lang"])
	back := f["return"]
	if !strings.HasPrefix(back, Prefix) || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = Prefix
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// actor is the operator a session acts as through the API.
func actor(s *webui.Session) (state.Operator, error) {
	role, ok := OperatorRole(s.Role)
	if !ok {
		return state.Operator{}, fmt.Errorf("console account %s has unknown role %q", s.Account, s.Role)
	}
	return state.Operator{Name: ActorPrefix + s.Account, Role: role}, nil
}
