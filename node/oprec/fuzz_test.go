package oprec

import (
	"errors"
	"testing"
)

// FuzzCursor checks that any cursor string either pages on from a record
// or is refused with ErrBadFilter, and never panics.
func FuzzCursor(f *testing.F) {
	s := openTest(f, testConfig(f, "", nil))
	for i := range 5 {
		s.Add(rec(i, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	}
	flush(f, s)
	_, next, err := s.Query(Filter{Limit: 2})
	if err != nil || next == "" {
		f.Fatalf("Query: %q %v", next, err)
	}
	f.Add(next)
	f.Add("")
	f.Add("AQ")
	f.Add(encodeCursor([]byte("short")))
	f.Fuzz(func(t *testing.T, c string) {
		k, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrBadFilter) {
				t.Fatalf("decodeCursor(%q) = %v, not ErrBadFilter", c, err)
			}
		} else if enc := encodeCursor(k); enc != c {
			t.Fatalf("cursor %q decodes to a key that encodes as %q", c, enc)
		}
		recs, _, err := s.Query(Filter{Cursor: c})
		if err != nil && !errors.Is(err, ErrBadFilter) {
			t.Fatalf("Query(cursor %q) = %v, not ErrBadFilter", c, err)
		}
		if c != "" && err == nil && len(recs) > 5 {
			t.Fatalf("Query(cursor %q) returned %d records", c, len(recs))
		}
	})
}
