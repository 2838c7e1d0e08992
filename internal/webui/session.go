package webui

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"time"
)

// CookieName is the session cookie. The __Host- prefix makes the browser
// refuse it unless it is Secure, has Path=/ and no Domain, so no other host
// (a sibling subdomain) can set or overwrite it.
const CookieName = "__Host-dxl-console"

// FormTokenField is the hidden form field carrying the session's form
// token on every state-changing form.
const FormTokenField = "form_token"

// Session is one logged-in browser.
type Session struct {
	Account   string
	Role      string
	Lang      string
	FormToken string // echoed in every form; checked on every POST
	Created   time.Time
	LastSeen  time.Time
	key       [32]byte
}

func (a *Auth) newSession(acct *Account, now time.Time) (*Session, string, error) {
	token, err := a.randomToken()
	if err != nil {
		return nil, "", err
	}
	form, err := a.randomToken()
	if err != nil {
		return nil, "", err
	}
	s := &Session{Account: acct.Name, Role: acct.Role, Lang: acct.Lang, FormToken: form, Created: now, LastSeen: now, key: tokenKey(token)}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.expireLocked(now)
	for len(a.sessions) >= a.cfg.MaxSessions {
		var oldest *Session
		for _, o := range a.sessions {
			if oldest == nil || o.Created.Before(oldest.Created) {
				oldest = o
			}
		}
		delete(a.sessions, oldest.key)
	}
	a.sessions[s.key] = s
	return s, token, nil
}

// expireLocked drops every expired session.
func (a *Auth) expireLocked(now time.Time) {
	for k, s := range a.sessions {
		if a.expired(s, now) {
			delete(a.sessions, k)
		}
	}
}

func (a *Auth) expired(s *Session, now time.Time) bool {
	return now.Sub(s.LastSeen) >= time.Duration(a.cfg.IdleTimeout) || now.Sub(s.Created) >= time.Duration(a.cfg.AbsoluteTimeout)
}

// Session returns a copy of the live session of token and marks it used;
// an expired session is removed. The account is read again, so a removed
// account's session ends and a changed role applies at once.
func (a *Auth) Session(token string) (*Session, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrNoSession
	}
	now := a.now()
	k := tokenKey(token)
	a.mu.Lock()
	s, ok := a.sessions[k]
	if ok && a.expired(s, now) {
		delete(a.sessions, k)
		ok = false
	}
	if !ok {
		a.mu.Unlock()
		return nil, ErrNoSession
	}
	s.LastSeen = now
	cp := *s
	a.mu.Unlock()
	acct, err := a.accounts.Get(cp.Account)
	if err != nil {
		a.End(token)
		return nil, fmt.Errorf("%w: %v", ErrNoSession, err)
	}
	cp.Role = acct.Role
	if acct.Lang != "" {
		cp.Lang = acct.Lang
	}
	return &cp, nil
}

// SessionOf returns the session of r's cookie.
func (a *Auth) SessionOf(r *http.Request) (*Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, ErrNoSession
	}
	return a.Session(c.Value)
}

// End ends the session of token.
func (a *Auth) End(token string) {
	a.mu.Lock()
	delete(a.sessions, tokenKey(token))
	a.mu.Unlock()
}

// EndOf ends the session of r's cookie and clears the cookie.
func (a *Auth) EndOf(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		a.End(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// SetCookie sends the session cookie for token: Secure, HttpOnly,
// SameSite=Strict, Path=/, no Domain, expiring with the session's absolute
// timeout.
func (a *Auth) SetCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", MaxAge: int(time.Duration(a.cfg.AbsoluteTimeout) / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// CheckFormToken refuses a state-changing request whose form does not
// carry s's form token (ErrBadToken). Call it after ParseForm.
func CheckFormToken(r *http.Request, s *Session) error {
	got := r.PostForm.Get(FormTokenField)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.FormToken)) != 1 {
		return ErrBadToken
	}
	return nil
}
