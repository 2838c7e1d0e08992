package node_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/services"
)

// adminDo sends method path (body JSON, or none) to the admin socket of
// the node in dir.
func adminDo(t *testing.T, dir, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://node"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := node.AdminClient(dir).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func diskRules(t *testing.T, dir string) []services.Rule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, node.FileConfig))
	if err != nil {
		t.Fatal(err)
	}
	c, err := node.ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return c.Access.Rules
}

// TestAccessAdmin grants and revokes an access right through the admin
// API of a running provider node: a call is refused before, served after
// the grant and refused again after the revoke; node.json and the audit
// log follow; a bad or duplicate rule changes nothing.
func TestAccessAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a devnet")
	}
	t.Parallel()
	n := startNet(t, func(c *node.Config) { c.Access = services.AccessConfig{} })
	c := n.client(t, true)
	b := n.B.Dir
	exchangeError(t, do(t, c, "GET", n.url("/citizens/001"), "", nil), 403, "access_denied")

	rule := `{"subject":"` + n.ClientA + `","service":"` + n.Service + `"}`
	if st, raw := adminDo(t, b, "POST", "/v1/access", rule); st != 200 {
		t.Fatalf("grant: %d %s", st, raw)
	}
	if a := do(t, c, "GET", n.url("/citizens/001"), "", nil); a.status != 200 {
		t.Fatalf("after the grant: %d %s", a.status, a.body)
	}
	if got := diskRules(t, b); len(got) != 1 || got[0].Subject != n.ClientA || got[0].Service != n.Service {
		t.Fatalf("node.json rules %+v", got)
	}
	st, raw := adminDo(t, b, "GET", "/v1/access", "")
	var cur services.AccessConfig
	if err := json.Unmarshal(raw, &cur); st != 200 || err != nil || len(cur.Rules) != 1 {
		t.Fatalf("GET /v1/access: %d %s", st, raw)
	}

	// Refusals: a duplicate, a malformed subject, a revoke of nothing.
	for _, tc := range []struct {
		method, path, body, code string
		status                   int
	}{
		{"POST", "/v1/access", rule, "access_exists", 409},
		{"POST", "/v1/access", `{"subject":"nobody","service":"` + n.Service + `"}`, "invalid_rule", 400},
		{"POST", "/v1/access", `{"subject":"` + n.ClientA + `","service":"` + n.Service + `","path":"no-slash"}`, "invalid_rule", 400},
		{"POST", "/v1/access", `{"subject":"` + n.ClientA + `","bogus":1}`, "bad_request", 400},
		{"DELETE", "/v1/access?subject=" + url.QueryEscape(n.ClientA) + "&service=" + url.QueryEscape(n.Service+"x"), "", "access_not_found", 404},
	} {
		st, raw := adminDo(t, b, tc.method, tc.path, tc.body)
		var e node.ErrorBody
		_ = json.Unmarshal(raw, &e)
		if st != tc.status || e.Code != tc.code {
			t.Errorf("%s %s %s: %d %s, want %d %s", tc.method, tc.path, tc.body, st, raw, tc.status, tc.code)
		}
	}
	if got := diskRules(t, b); len(got) != 1 {
		t.Fatalf("a refused change reached node.json: %+v", got)
	}

	q := "/v1/access?subject=" + url.QueryEscape(n.ClientA) + "&service=" + url.QueryEscape(n.Service)
	if st, raw := adminDo(t, b, "DELETE", q, ""); st != 200 {
		t.Fatalf("revoke: %d %s", st, raw)
	}
	exchangeError(t, do(t, c, "GET", n.url("/citizens/002"), "", nil), 403, "access_denied")
	if got := diskRules(t, b); len(got) != 0 {
		t.Fatalf("node.json rules after revoke %+v", got)
	}
	st, raw = adminDo(t, b, "GET", "/v1/audit", "")
	if st != 200 || !strings.Contains(string(raw), `"action":"access.grant"`) || !strings.Contains(string(raw), `"action":"access.revoke"`) {
		t.Fatalf("audit log: %d %s", st, raw)
	}
	if _, err := n.B.Node.Audit().VerifyAll(); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}
