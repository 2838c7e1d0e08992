package urlpath

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrNotCanonical: the path is not in canonical form.
var ErrNotCanonical = errors.New("path not in canonical form")

// Check refuses an escaped request path (url.URL.EscapedPath) that does
// not start with "/", or has an empty segment ("//") other than a trailing
// slash, or a "." or ".." segment, also percent-encoded ("%2e%2e", which
// a backend might resolve). An encoded slash belongs to its segment
// ("a%2F%2Fb" is one segment). Errors wrap ErrNotCanonical.
func Check(escaped string) error {
	if !strings.HasPrefix(escaped, "/") {
		return fmt.Errorf("%w: %.64q does not start with /", ErrNotCanonical, escaped)
	}
	segs := strings.Split(escaped[1:], "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		if s == "." || s == ".." || s == "" && i < len(segs)-1 {
			return fmt.Errorf("%w: %.64q has an empty, . or .. segment", ErrNotCanonical, escaped)
		}
	}
	return nil
}
