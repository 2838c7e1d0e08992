package cli

import (
	"strings"

	"github.com/dxl-network/dxl/devnet"
)

// demoDocCommands are the dxl doc commands of the demo's delivery, by
// their --json key and as printed lines: A's system sends FILE to B's; B's
// system follows its events, lists its inbox, fetches and acknowledges
// document ID; A's system asks the status with B's signed receipt.
func demoDocCommands(d *devnet.Demo) (map[string]string, string) {
	a, b := d.DocFlags()
	cmds := []struct{ key, line, note string }{
		{"dxl_doc_send", "go run . doc send " + a + " --to " + d.ClientB + " --title demo --type note FILE", ""},
		{"dxl_doc_events", "go run . doc events " + b, "B's system: its notifications (Ctrl-C ends)"},
		{"dxl_doc_list", "go run . doc list " + b, "B's inbox"},
		{"dxl_doc_fetch", "go run . doc fetch " + b + " -o doc ID", "fetch, checked against the signed SHA-256"},
		{"dxl_doc_ack", "go run . doc ack " + b + " ID", "acknowledge: B signs a receipt"},
		{"dxl_doc_status", "go run . doc status " + a + " ID", "A's system: the status and B's receipt"},
	}
	keys := map[string]string{}
	var lines strings.Builder
	for _, c := range cmds {
		keys[c.key] = c.line
		lines.WriteString("  " + c.line)
		if c.note != "" {
			lines.WriteString("   # " + c.note)
		}
		lines.WriteString("\n")
	}
	return keys, lines.String()
}
