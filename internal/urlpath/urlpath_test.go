package urlpath

import (
	"errors"
	"path"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for p, ok := range map[string]bool{
		"/": true, "/a/b": true, "/a/b/": true, "/a/.b/..c": true, "/a%2F%2Fb": true, "/a%2Fb/c": true,
		"": false, "a": false, "//": false, "/a//b": false, "/a/./b": false, "/a/..": false, "/.": false,
		"/a/%2e%2e/b": false, "/a/%2E/b": false, "/a/.%2e": false,
	} {
		if err := Check(p); (err == nil) != ok || err != nil && !errors.Is(err, ErrNotCanonical) {
			t.Errorf("%q: %v, want ok=%v", p, err, ok)
		}
	}
}

// FuzzCheck: Check accepts only paths http.ServeMux would not clean, and
// exactly those when nothing is percent-encoded.
func FuzzCheck(f *testing.F) {
	for _, p := range []string{"/", "/r1/a/b/", "/a/../b", "//", "/.", "a", "/a//b", "/a/.b/..c", "/a/%2e/b", "/a%2F%2Fb"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := Check(p)
		if err != nil && !errors.Is(err, ErrNotCanonical) {
			t.Fatalf("%q: %v", p, err)
		}
		clean := strings.HasPrefix(p, "/") && muxClean(p) == p
		if err == nil && !clean || !strings.Contains(p, "%") && (err == nil) != clean {
			t.Fatalf("%q: Check %v, cleaned %q", p, err, muxClean(p))
		}
	})
}

// muxClean is http.ServeMux's cleanPath.
func muxClean(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}
