package webui

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// Site is the frame a console is built on: its login, logout and language
// routes, the session guard of its pages (Get) and of its state changes
// (Post: live session, strict form, form token, role), and its page and
// error rendering. The console supplies the pages, the catalogue, the
// navigation and what a role may do.
type Site struct {
	Auth   *Auth
	Pages  *Renderer
	Cat    Catalog // must hold "app" and every role's "role.<name>"
	Prefix string  // "/console/"
	Log    *slog.Logger
	// Nav returns the navigation shown to a logged-in session.
	Nav func(s *Session) []NavItem
	// Allows reports whether role may do need (a console's own role
	// order); nil allows nothing that names a need.
	Allows func(role, need string) bool
}

// Handler serves a page for a logged-in session.
type Handler func(w http.ResponseWriter, r *http.Request, s *Session)

// Routes registers the static files, login, logout and language routes
// and a not-found page for the rest of the prefix on m.
func (st *Site) Routes(m *http.ServeMux) {
	p := st.Prefix
	m.Handle("GET "+p+"static/", StaticHandler(p))
	m.HandleFunc("GET "+p+"login", st.loginPage)
	m.HandleFunc("POST "+p+"login", st.login)
	m.HandleFunc("POST "+p+"lang", st.setLang)
	m.HandleFunc("POST "+p+"logout", st.Post("", st.logout))
	m.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		s, _ := st.Auth.SessionOf(r)
		st.Fail(w, r, s, http.StatusNotFound, "err.notfound")
	})
}

// Get serves a page to a logged-in account of a role allowed need (any
// role for ""); without a session the browser goes to the login page.
func (st *Site) Get(need string, h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := st.Auth.SessionOf(r)
		if err != nil {
			to := st.Prefix + "login"
			if _, had := r.Cookie(CookieName); had == nil {
				to += "?m=expired"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if need != "" && !st.allows(s.Role, need) {
			st.Log.Warn("console page refused: role", "account", s.Account, "role", s.Role, "path", r.URL.Path)
			st.Fail(w, r, s, http.StatusForbidden, "err.forbidden")
			return
		}
		h(w, r, s)
	}
}

// Post serves a state change: a live session, the form (only fields, the
// form token always among them) and its form token, and, for need other
// than "", a role allowed need. Nothing reaches h otherwise.
func (st *Site) Post(need string, h Handler, fields ...string) http.HandlerFunc {
	fields = append([]string{FormTokenField}, fields...)
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := st.Auth.SessionOf(r)
		if err != nil {
			st.Fail(w, r, nil, http.StatusUnauthorized, "login.expired")
			return
		}
		if _, err := ReadForm(w, r, fields...); err != nil {
			st.FailMsg(w, r, s, http.StatusBadRequest, st.Cat.T(RequestLang(r, s), "err.badform", err.Error()))
			return
		}
		if err := CheckFormToken(r, s); err != nil {
			st.Log.Warn("console form refused: form token", "account", s.Account, "path", r.URL.Path, "remote", r.RemoteAddr)
			st.Fail(w, r, s, http.StatusForbidden, "err.token")
			return
		}
		if need != "" && !st.allows(s.Role, need) {
			st.Log.Warn("console action refused: role", "account", s.Account, "role", s.Role, "path", r.URL.Path)
			st.Fail(w, r, s, http.StatusForbidden, "err.forbidden")
			return
		}
		h(w, r, s)
	}
}

func (st *Site) allows(role, need string) bool { return st.Allows != nil && st.Allows(role, need) }

// Page returns the page frame for r.
func (st *Site) Page(r *http.Request, s *Session, title string, data any) *Page {
	p := &Page{Lang: RequestLang(r, s), Title: title, App: "app", Base: st.Prefix, Path: r.URL.RequestURI(),
		Session: s, Data: data, Cat: st.Cat}
	if s != nil && st.Nav != nil {
		cur := r.URL.Path
		for _, n := range st.Nav(s) {
			n.Current = cur == n.Href || (n.Href != st.Prefix && strings.HasPrefix(cur, n.Href))
			p.Nav = append(p.Nav, n)
		}
	}
	return p
}

// Fail renders the error page with key's message and status.
func (st *Site) Fail(w http.ResponseWriter, r *http.Request, s *Session, status int, key string) {
	st.FailMsg(w, r, s, status, st.Cat.T(RequestLang(r, s), key))
}

// FailMsg renders the error page with msg (already in the page's language).
func (st *Site) FailMsg(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string) {
	p := st.Page(r, s, "err.title", nil)
	p.Error = msg
	st.Pages.Render(w, status, "error", p)
}

func (st *Site) loginPage(w http.ResponseWriter, r *http.Request) {
	p := st.Page(r, nil, "login.title", nil)
	switch r.URL.Query().Get("m") {
	case "out":
		p.Notice = p.T("login.out")
	case "expired":
		p.Error = p.T("login.expired")
	}
	st.Pages.Render(w, http.StatusOK, "login", p)
}

func (st *Site) login(w http.ResponseWriter, r *http.Request) {
	f, err := ReadForm(w, r, "account", "password", "code")
	p := st.Page(r, nil, "login.title", nil)
	if err != nil {
		p.Error = p.T("err.badform", err.Error())
		st.Pages.Render(w, http.StatusBadRequest, "login", p)
		return
	}
	s, token, err := st.Auth.Login(strings.TrimSpace(f["account"]), f["password"], strings.TrimSpace(f["code"]), r.RemoteAddr)
	var le *LockedError
	switch {
	case errors.As(err, &le):
		p.Error = p.T("login.locked", FormatTime(p.Lang, le.Until))
		st.Pages.Render(w, http.StatusTooManyRequests, "login", p)
		return
	case errors.Is(err, ErrBadCredentials):
		p.Error = p.T("login.bad")
		st.Pages.Render(w, http.StatusUnauthorized, "login", p)
		return
	case err != nil:
		p.Error = p.T("err.internal")
		st.Pages.Render(w, http.StatusInternalServerError, "login", p)
		return
	}
	if s.Lang == "" { // keep the language chosen before login
		_ = st.Auth.Accounts().SetLang(s.Account, RequestLang(r, nil))
	}
	st.Auth.SetCookie(w, token)
	http.Redirect(w, r, st.Prefix, http.StatusSeeOther)
}

func (st *Site) logout(w http.ResponseWriter, r *http.Request, s *Session) {
	st.Auth.EndOf(w, r)
	st.Log.Info("console logout", "account", s.Account)
	http.Redirect(w, r, st.Prefix+"login?m=out", http.StatusSeeOther)
}

// setLang switches the language: stored in a cookie, and for a logged-in
// account in the account (a session's switch needs its form token).
func (st *Site) setLang(w http.ResponseWriter, r *http.Request) {
	f, err := ReadForm(w, r, "lang", "return", FormTokenField)
	if err != nil || !ValidLang(f["lang"]) {
		st.Fail(w, r, nil, http.StatusBadRequest, "err.notfound")
		return
	}
	if s, err := st.Auth.SessionOf(r); err == nil {
		if CheckFormToken(r, s) != nil {
			st.Fail(w, r, s, http.StatusForbidden, "err.token")
			return
		}
		if err := st.Auth.Accounts().SetLang(s.Account, f["lang"]); err != nil {
			st.Log.Error("storing an account's language failed", "account", s.Account, "error", err)
		}
	}
	SetLangCookie(w, f["lang"])
	back := f["return"]
	if !strings.HasPrefix(back, st.Prefix) || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = st.Prefix
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
