package oprec

import (
	"errors"
	"net/http"
)

// Sentinel errors. Every error the package returns wraps one of them; Code
// maps them to an error code and HTTP status for an admin API.
var (
	ErrConfig    = errors.New("oprec: invalid configuration")
	ErrClosed    = errors.New("oprec: store closed")
	ErrBadFilter = errors.New("oprec: bad filter")
	ErrStorage   = errors.New("oprec: storage failure")
	ErrCorrupt   = errors.New("oprec: corrupt stored data")
)

var codes = []struct {
	err    error
	code   string
	status int
}{
	{ErrBadFilter, "bad_filter", http.StatusBadRequest},
	{ErrClosed, "closed", http.StatusServiceUnavailable},
	{ErrConfig, "config", http.StatusInternalServerError},
	{ErrStorage, "storage", http.StatusInternalServerError},
	{ErrCorrupt, "corrupt", http.StatusInternalServerError},
}

// Code returns the error code and HTTP status for err: "bad_filter" (400),
// "closed" (503), "config", "storage", "corrupt" (500). A nil error gives
// ("", 200); an error from outside the package gives ("internal", 500).
func Code(err error) (string, int) {
	if err == nil {
		return "", http.StatusOK
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code, c.status
		}
	}
	return "internal", http.StatusInternalServerError
}
