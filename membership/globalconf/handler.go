package globalconf

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// GlobalConfigPath is where registry servers serve the signed configuration.
const GlobalConfigPath = "/v1/global-config"

// Handler serves GET (and HEAD) GlobalConfigPath from source, which returns
// the current signed wire form (Signed.Marshal) and its version. Answers:
//
//   - 200, Content-Type application/json, ETag "<version>",
//     Cache-Control no-cache, the signed bytes;
//   - 304 with the same ETag when If-None-Match names that version
//     (strong or weak tag, or *);
//   - 405 (Allow: GET, HEAD) for other methods, 404 for other paths;
//   - 503 when source returns ErrUnavailable or nothing, 500 for any other
//     source error.
//
// Error bodies are {"error":{"code":"…","message":"…"}}. The handler needs
// no authentication: the configuration is signed and public to the
// network's nodes. source is called once per request (and once per change
// during a long-poll) and should return bytes it already holds (sign on
// change, not per request).
//
// With WithChanges the handler also long-polls (longpoll.go): a
// conditional GET with ?wait=DURATION is held until the version changes or
// the wait ends (then 304).
func Handler(source func() (raw []byte, version uint64, err error), opts ...HandlerOption) http.Handler {
	h := &handler{source: source, maxWait: MaxWait, maxWaiters: DefaultMaxWaiters}
	for _, o := range opts {
		o(h)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != GlobalConfigPath {
		writeError(w, http.StatusNotFound, "not_found", "no such resource; the configuration is at "+GlobalConfigPath)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	wait, err := h.parseWait(r)
	if err != nil {
		writeError(w, Codes.Status(err), Codes.Code(err), err.Error())
		return
	}
	raw, version, err := h.current(w, r, wait)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			w.Header().Set("Retry-After", "5")
		}
		writeError(w, Codes.Status(err), Codes.Code(err), err.Error())
		return
	}
	if err := r.Context().Err(); err != nil {
		return // the client gave up waiting
	}
	etag := ETag(version)
	hdr := w.Header()
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", "no-cache")
	if etagMatches(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(raw)
	}
}

// ETag returns the entity tag of a configuration version: "<version>",
// quotes included.
func ETag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// etagMatches applies If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(headers []string, etag string) bool {
	for _, h := range headers {
		for _, t := range strings.Split(h, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var body apiError
	body.Error.Code, body.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
