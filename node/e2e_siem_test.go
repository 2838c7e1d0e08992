package node_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/node"
)

// TestSIEMEvents: a node with node.json siem exports its admin actions
// (from the audit log, with the socket user as actor) and refused token
// requests as events; secrets never appear in them.
func TestSIEMEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own network")
	}
	file := filepath.Join(t.TempDir(), "siem.jsonl")
	n := startNetTB(t, func(c *node.Config) { c.SIEM.JSONFile = file }, nil)
	resp, err := node.AdminClient(n.A.Dir).Post("http://node/v1/credentials", "application/json", strings.NewReader(`{"subsystem":"`+n.ClientA+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var cred struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	}
	json.NewDecoder(resp.Body).Decode(&cred)
	resp.Body.Close()
	if cred.Secret == "" {
		t.Fatalf("credential create: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", "https://"+n.A.Node.APIAddr()+"/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(cred.KeyID, cred.Secret+"wrong")
	if r, err := n.client(t, false).Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token with a wrong secret: %v %v", r, err)
	}
	member := n.A.Node.Member().String()
	n.A.Stop() // Close sends what is queued
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]siem.Event{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var ev siem.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		events[ev.Action] = ev
	}
	if ev := events["credential.create"]; ev.Kind != "audit" || ev.Target != cred.KeyID || !strings.HasPrefix(ev.Actor, "uid:") {
		t.Errorf("admin action event: %+v", ev)
	}
	if ev := events["token.failure"]; ev.Kind != "security" || ev.Source != member {
		t.Errorf("token failure event: %+v (all: %v)", ev, events)
	}
	if strings.Contains(string(raw), cred.Secret) {
		t.Error("a secret in the SIEM events")
	}
}
