package node

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/node/console"
	"github.com/dxl-network/dxl/node/delivery"
)

// FileConsole holds the node console's accounts (bbolt, 0600).
const FileConsole = "console.db"

// ConsoleConfig configures the node's web console under /console/ on the
// consumer API's HTTPS listener: its session and lockout limits
// (webui.Config, defaults there), or none at all.
type ConsoleConfig struct {
	Disabled bool `json:"disabled,omitempty"`
	webui.Config
}

// ConsoleAccounts returns the console account file of the node directory
// dir (DIR/console.db); the CLI adds accounts to it while the node runs.
func ConsoleAccounts(dir string) *webui.Accounts {
	return webui.NewAccounts(filepath.Join(dir, FileConsole), nil, nil)
}

// AdminAs serves the admin API (the admin socket's routes) in process,
// recording actor in the audit log as the one who acted: the node
// console's only way to read or change the node.
func (n *Node) AdminAs(actor string) http.Handler {
	h := n.admin.Handler
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), connKey{}, actor)))
	})
}

// withConsole serves the web console under console.Prefix (unless
// disabled) and api everywhere else.
func (n *Node) withConsole(api http.Handler) (http.Handler, error) {
	if n.cfg.Console.Disabled {
		return api, nil
	}
	auth, err := webui.NewAuth(n.cfg.Console.Config, ConsoleAccounts(n.dir), console.MFARoles, webui.WithLogger(n.log))
	if err != nil {
		return nil, fmt.Errorf("%w: console: %v", ErrConfig, err)
	}
	con, err := console.New(n, auth, console.Config{Queues: queues{n}, Logger: n.log, Now: n.now})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, console.Prefix):
			con.ServeHTTP(w, r)
		case p == strings.TrimSuffix(console.Prefix, "/"):
			http.Redirect(w, r, console.Prefix, http.StatusMovedPermanently)
		default:
			api.ServeHTTP(w, r)
		}
	}), nil
}

// ConsoleURL returns the web console's URL ("" when disabled).
func (n *Node) ConsoleURL() string {
	if n.cfg.Console.Disabled {
		return ""
	}
	return "https://" + n.APIAddr() + console.Prefix
}

// queues gives the console the delivery queues, read-only.
type queues struct{ n *Node }

func (q queues) Queues() (console.QueueView, error) {
	var v console.QueueView
	st := q.n.deliv.Store()
	out, err := st.Active()
	if err != nil {
		return v, err
	}
	for _, d := range out {
		for _, r := range d.Recipients {
			row := console.OutRow{DocumentID: d.Meta.ID, Sender: d.Meta.Sender, Recipient: r.ID, State: string(r.State),
				LastError: r.Reason, Attempts: r.Attempts, Updated: d.Updated, Receipt: r.Receipt != nil}
			if r.State == delivery.Undeliverable {
				v.Undeliverable = append(v.Undeliverable, row)
			} else {
				v.Outbox = append(v.Outbox, row)
			}
		}
	}
	vw := q.n.view()
	if vw == nil {
		return v, nil
	}
	for _, ss := range vw.Doc().Subsystems {
		if !strings.HasPrefix(ss.ID, q.n.member.String()+"/") || ss.Status != ident.SubsystemActive {
			continue
		}
		in, err := st.Inbox(ss.ID, "")
		if err != nil {
			return v, err
		}
		for _, d := range in {
			v.Inbox = append(v.Inbox, console.InRow{DocumentID: d.Meta.ID, Sender: d.Meta.Sender, Recipient: d.Recipient,
				State: string(d.State), Received: d.Received, Acknowledged: d.Acked, ReceiptSent: d.ReceiptSent})
		}
	}
	return v, nil
}
