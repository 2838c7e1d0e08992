package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OAuth 2.0 error codes (RFC 6749 §5.2).
const (
	oauthInvalidRequest       = "invalid_request"
	oauthInvalidClient        = "invalid_client"
	oauthUnsupportedGrantType = "unsupported_grant_type"
	oauthServerError          = "server_error"
)

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="dxl", charset="UTF-8"`)
	}
	writeJSON(w, status, oauthError{Error: code, Description: desc})
}

// TokenHandler returns the OAuth 2.0 token endpoint for the client
// credentials grant (RFC 6749 §4.4). Mount it on POST /token.
func (a *Authority) TokenHandler() http.Handler {
	return http.HandlerFunc(a.serveToken)
}

// serveToken answers one token request: a client credentials form, the
// client's credentials, then the token (or the first OAuth error met).
func (a *Authority) serveToken(w http.ResponseWriter, r *http.Request) {
	form, ok := a.readTokenForm(w, r)
	if !ok {
		return
	}
	if !checkGrantType(w, form) {
		return
	}
	id, secret, ok := clientCredentials(w, r, form)
	if !ok {
		return
	}
	a.issueToken(w, r, id, secret)
}

// readTokenForm checks the method and content type and reads the form body
// (bounded, no parameter repeated); on failure it has answered.
func (a *Authority) readTokenForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, http.StatusMethodNotAllowed, oauthInvalidRequest, "method must be POST")
		return nil, false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "content type must be application/x-www-form-urlencoded")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "request body too large")
			return nil, false
		}
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "cannot read request body")
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "malformed form body")
		return nil, false
	}
	for _, v := range form { // RFC 6749 §3.2: no parameter more than once
		if len(v) > 1 {
			writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "repeated parameter")
			return nil, false
		}
	}
	return form, true
}

// checkGrantType requires grant_type client_credentials; on failure it has
// answered.
func checkGrantType(w http.ResponseWriter, form url.Values) bool {
	switch gt := form.Get("grant_type"); gt {
	case "":
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "grant_type is required")
		return false
	case "client_credentials":
		return true
	default:
		writeOAuthError(w, http.StatusBadRequest, oauthUnsupportedGrantType, "only client_credentials is supported")
		return false
	}
}

// clientCredentials takes the client ID and secret from exactly one of
// HTTP Basic and the form; on failure it has answered.
func clientCredentials(w http.ResponseWriter, r *http.Request, form url.Values) (id, secret string, ok bool) {
	id, secret, basic := r.BasicAuth()
	_, formID := form["client_id"]
	_, formSecret := form["client_secret"]
	switch {
	case basic && (formID || formSecret):
		writeOAuthError(w, http.StatusBadRequest, oauthInvalidRequest, "use one client authentication method")
		return "", "", false
	case basic:
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
		var e1, e2 error
		id, e1 = url.QueryUnescape(id)
		secret, e2 = url.QueryUnescape(secret)
		if e1 != nil || e2 != nil {
			writeOAuthError(w, http.StatusUnauthorized, oauthInvalidClient, "client authentication failed")
			return "", "", false
		}
	default:
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if id == "" || secret == "" {
		writeOAuthError(w, http.StatusUnauthorized, oauthInvalidClient, "client authentication failed")
		return "", "", false
	}
	return id, secret, true
}

// issueToken authenticates the client and answers with its access token.
// A consumer key or a remote address that failed ThrottleAfter times in a
// row is refused (429 auth_throttled, Retry-After) before its secret is
// looked at, for a period that doubles with each further failure.
func (a *Authority) issueToken(w http.ResponseWriter, r *http.Request, id, secret string) {
	keys := throttleKeys(id, r.RemoteAddr)
	if a.refuseThrottled(w, r, keys) {
		return
	}
	tok, err := a.Issue(r.Context(), id, secret)
	switch {
	case errors.Is(err, ErrInvalidClient):
		a.log.Info("token request refused", "reason", Codes.Code(err), "remote", r.RemoteAddr)
		a.failed(r, keys)
		writeOAuthError(w, http.StatusUnauthorized, oauthInvalidClient, "client authentication failed")
		return
	case err != nil:
		a.log.Warn("token request failed", "error_code", Codes.Code(err), "remote", r.RemoteAddr)
		writeOAuthError(w, http.StatusInternalServerError, oauthServerError, "")
		return
	}
	for _, k := range keys {
		a.thr.succeed(k.key)
	}
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: tok.AccessToken,
		TokenType:   "Bearer",
		ExpiresIn:   int64(tok.Lifetime.Seconds()),
	})
}

type throttleKey struct{ scope, key string }

// throttleKeys are the two counters a token request is charged to: its
// consumer key and its remote address (without the port).
func throttleKeys(id, remote string) []throttleKey {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	return []throttleKey{{"client", "client\x00" + id}, {"address", "address\x00" + host}}
}

// refuseThrottled answers 429 auth_throttled if any of keys is throttled.
func (a *Authority) refuseThrottled(w http.ResponseWriter, r *http.Request, keys []throttleKey) bool {
	now := a.cfg.Now()
	for _, k := range keys {
		d := a.thr.blocked(k.key, now)
		if d <= 0 {
			continue
		}
		a.m.throttled.WithLabelValues(k.scope).Inc()
		secs := int64((d + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		w.Header().Set("X-DXL-Error", Codes.Code(ErrThrottled))
		w.Header().Set("X-Road-Error", "Client.RateLimited") // node/exchange's X-Road name for the code
		writeOAuthError(w, http.StatusTooManyRequests, Codes.Code(ErrThrottled),
			fmt.Sprintf("too many failed token requests from this %s; retry after %d s", k.scope, secs))
		return true
	}
	return false
}

// failed charges one failure to each of keys, raising the alarm for a key
// that has just become throttled.
func (a *Authority) failed(r *http.Request, keys []throttleKey) {
	a.m.failures.Inc()
	alarm := false
	defer func() {
		if a.cfg.OnFailure != nil {
			a.cfg.OnFailure(r.RemoteAddr, alarm)
		}
	}()
	for _, k := range keys {
		if a.thr.fail(k.key, a.cfg.Now()) {
			alarm = true
			a.log.Warn("token requests throttled: repeated failed client authentication",
				"alarm", "auth_throttled", "scope", k.scope, "key", strings.TrimPrefix(k.key, k.scope+"\x00"),
				"failures", a.cfg.ThrottleAfter, "remote", r.RemoteAddr)
		}
	}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal Require put in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ErrorBody is the exchange-layer error body.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// bearerToken extracts the token of an "Authorization: Bearer" header
// (scheme case-insensitive, RFC 6750 §2.1).
func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Require authenticates every request with a bearer token, puts the
// Principal in the request context and calls next; otherwise it answers 401
// with WWW-Authenticate: Bearer, X-DXL-Error: true and a JSON
// {code, message} body.
func (a *Authority) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Verify(r.Context(), bearerToken(r))
		if err != nil {
			code := Codes.Code(err)
			h := w.Header()
			h.Set("X-DXL-Error", "true")
			status, msg := http.StatusUnauthorized, "access token missing or not valid"
			switch {
			case errors.Is(err, ErrMissingToken):
				h.Set("WWW-Authenticate", `Bearer realm="dxl"`)
				msg = "bearer token required"
			case errors.Is(err, ErrStore):
				status, msg = http.StatusServiceUnavailable, "credential store unavailable"
			default:
				h.Set("WWW-Authenticate", `Bearer realm="dxl", error="invalid_token"`)
			}
			if status == http.StatusUnauthorized {
				a.log.Info("bearer token refused", "error_code", code, "remote", r.RemoteAddr)
			} else {
				a.log.Warn("bearer token check failed", "error_code", code, "remote", r.RemoteAddr)
			}
			writeJSON(w, status, ErrorBody{Code: code, Message: msg})
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
