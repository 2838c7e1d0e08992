package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// SessionPath is the consumer API's session-key endpoint (Art. 15 steps
// 1–2 of Nghe An's regulation 004: the information system signs its
// connection request with its secret key, the node checks it and returns
// a session key).
const SessionPath = "/access-key/session"

// MaxSessionsPerKey is how many session keys one access key holds open;
// a new one ends the oldest.
const MaxSessionsPerKey = 16

// Session is a session key as the endpoint answers it. The secret is
// shown only there; the node does not store it: it is derived, when
// needed, from a random key that lives only in the node's memory, so a
// restart ends every session (the information system asks for a new one).
type Session struct {
	SessionKey    string    `json:"session_key"`
	SessionSecret string    `json:"session_secret"`
	Subsystem     string    `json:"subsystem"`
	Algorithm     string    `json:"algorithm"`
	ExpiresAt     time.Time `json:"expires_at"`
	ExpiresIn     int64     `json:"expires_in"`
}

type session struct {
	parent    string // the access key it was opened with
	subsystem string
	allowSHA1 bool
	expires   time.Time
}

// sessions is the table of open session keys.
type sessions struct {
	key []byte // derives session secrets
	max int

	mu sync.Mutex
	m  map[string]session
}

func newSessions(key []byte, max int) *sessions {
	return &sessions{key: key, max: max, m: map[string]session{}}
}

func (s *sessions) secret(id string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("DXL-SESSION-SECRET-v1\x00" + id))
	return SessionSecretPrefix + strings.ToLower(b32.EncodeToString(m.Sum(nil)))
}

func (s *sessions) put(id string, e session, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		for k, v := range s.m {
			if !now.Before(v.expires) {
				delete(s.m, k)
			}
		}
	}
	if len(s.m) >= s.max {
		return fmt.Errorf("%w: %d session keys open", ErrBusy, s.max)
	}
	// One access key holds at most MaxSessionsPerKey: its oldest goes.
	n, oldest := 0, ""
	for k, v := range s.m {
		if v.parent == e.parent {
			n++
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = k
			}
		}
	}
	if n >= MaxSessionsPerKey {
		delete(s.m, oldest)
	}
	s.m[id] = e
	return nil
}

func (s *sessions) get(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if ok && !now.Before(e.expires) {
		delete(s.m, id)
		return session{}, false
	}
	return e, ok
}

// OpenSession issues a session key for the access key p authenticated
// with (never for a session key).
func (k *AccessKeys) OpenSession(ctx context.Context, p Principal) (Session, error) {
	rec, err := k.activeKey(ctx, p.KeyID)
	if err != nil {
		return Session{}, err
	}
	id, err := k.randomString(SessionKeyPrefix, keyBytes)
	if err != nil {
		return Session{}, err
	}
	now := k.cfg.Now()
	exp := now.Add(k.cfg.SessionLifetime).Truncate(time.Second)
	if err := k.sess.put(id, session{parent: rec.ID, subsystem: rec.Subsystem, allowSHA1: rec.AllowSHA1, expires: exp}, now); err != nil {
		return Session{}, err
	}
	k.log.Info("session key issued", "access_key", rec.ID, "session_key", id, "subsystem", rec.Subsystem, "expires", exp.UTC())
	return Session{SessionKey: id, SessionSecret: k.sess.secret(id), Subsystem: rec.Subsystem, Algorithm: AlgHMACSHA256,
		ExpiresAt: exp.UTC(), ExpiresIn: int64(exp.Sub(now) / time.Second)}, nil
}

// checkSession checks a request signed with a session key: HMAC-SHA256
// (HMAC-SHA1 if its access key allows it) with the session secret, while
// the session and its access key last.
func (k *AccessKeys) checkSession(ctx context.Context, a Authorization, sts []byte) (Principal, error) {
	e, ok := k.sess.get(a.Credential, k.cfg.Now())
	if !ok {
		return Principal{}, fmt.Errorf("%w: %s; open a new session at %s", ErrSessionExpired, a.Credential, SessionPath)
	}
	if _, err := k.activeKey(ctx, e.parent); err != nil {
		return Principal{}, err
	}
	if a.Algorithm != AlgHMACSHA256 && (a.Algorithm != AlgHMACSHA1 || !e.allowSHA1) {
		return Principal{}, fmt.Errorf("%w: a session key signs with %s", ErrAlgorithm, AlgHMACSHA256)
	}
	if err := verifyHMAC(a, []byte(k.sess.secret(a.Credential)), sts); err != nil {
		return Principal{}, err
	}
	return Principal{Subsystem: e.subsystem, KeyID: e.parent, Expires: e.expires}, nil
}

// SessionHandler is the session-key endpoint (mount on POST SessionPath).
// The request is signed with the long-term access key (HMAC or RSA),
// with an empty body; check, when given, vets the subsystem (registered
// and active) before a session is issued. Refusals go to fail (nil: 401
// or 503 with the code in X-DXL-Error and a {code, message} body).
func (k *AccessKeys) SessionHandler(check func(subsystem string) error, fail func(w http.ResponseWriter, r *http.Request, err error)) http.Handler {
	if fail == nil {
		fail = func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("X-DXL-Error", Codes.Code(err))
			writeJSON(w, Codes.Status(err), ErrorBody{Code: Codes.Code(err), Message: err.Error()})
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := k.sessionRequest(r)
		if err == nil && check != nil {
			err = check(p.Subsystem)
		}
		var s Session
		if err == nil {
			s, err = k.OpenSession(r.Context(), p)
		}
		if err != nil {
			k.log.Info("session key refused", "error_code", Codes.Code(err), "remote", r.RemoteAddr)
			fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s)
	})
}

// sessionRequest authenticates a session request: signed with an access
// key, not a session key, its (empty) body the one signed.
func (k *AccessKeys) sessionRequest(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	if !IsSigned(h) {
		return Principal{}, fmt.Errorf("%w: sign the request with the access key (Authorization: DXL-…)", ErrSignedMalformed)
	}
	if a, err := ParseAuthorization(h); err == nil && strings.HasPrefix(a.Credential, SessionKeyPrefix) {
		return Principal{}, fmt.Errorf("%w: a session key cannot open a session", ErrAlgorithm)
	}
	p, err := k.VerifyRequest(r)
	if err != nil {
		return Principal{}, err
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10)); err != nil {
		return Principal{}, err
	}
	if n, _ := r.Body.Read(make([]byte, 1)); n > 0 {
		return Principal{}, fmt.Errorf("%w: a session request has an empty body", ErrSignedMalformed)
	}
	return p, nil
}
