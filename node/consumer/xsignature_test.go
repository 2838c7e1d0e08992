package consumer

import "testing"

func TestNeedsXSignature(t *testing.T) {
	for _, c := range []struct {
		method, class string
		want          bool
	}{
		{"POST", "", true}, {"PUT", "", true}, {"PATCH", "public", true}, {"DELETE", "", true},
		{"GET", "", false}, {"HEAD", "internal", false}, {"GET", "secret", true}, {"GET", "top_secret", true},
	} {
		if got := needsXSignature(c.method, c.class); got != c.want {
			t.Errorf("needsXSignature(%s, %q) = %v", c.method, c.class, got)
		}
	}
}
