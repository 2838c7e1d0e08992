package cli

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/console"
	nodeconsole "github.com/dxl-network/dxl/node/console"
	"github.com/dxl-network/dxl/services"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a whole DXL network in this process: registry, CA, TSA, two agency nodes and a sample backend",
		Description: `Starts, on 127.0.0.1 with its state in a fresh temporary directory:
  - a registry server (Raft, CA, signed global configuration) and the TSA;
  - agency A's node and agency B's node, both admitted through the real
    registration and approval workflow;
  - agency B's sample backend, published as the service
    VN-DEMO/GOV/000.00.00.B01/DANCU/population and granted to agency A's
    information system VN-DEMO/GOV/000.00.00.A01/TUPHAP.
Then it prints a curl command that calls B's service through A's node: the
request goes A's consumer API -> A's node -> libp2p -> B's node -> B's
backend, signed by A and answered signed by B. It also prints the commands
that send a file from A's system to B's as a document (asynchronous
delivery), fetch and acknowledge it on B's side and show B's signed receipt
at A, and the web consoles' addresses (the registry's, nodes A's and B's)
with a demo login. Ctrl-C stops
and removes the directory (--keep keeps it).

B's services keep the network's rate limits (R-T1: 1,000 reads and 300
writes a minute per client), so a load test of the demo soon gets 429
rate_limited answers: --rate-limit off lifts them, --rate-limit N allows N
reads and N writes a minute.

Examples:
   go run . demo
   # paste the printed curl command in another terminal
   go run . demo --rate-limit off
   # then load it: dxl bench --url ... (the printed "bench" line)`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "state directory (default: a new temporary directory)"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the state directory on exit"},
			&cli.StringFlag{Name: "api-listen", Value: "127.0.0.1:8443", Usage: "agency A's consumer API address"},
			&cli.StringFlag{Name: "backend-listen", Value: "127.0.0.1:0", Usage: "the sample backend's address"},
			&cli.StringFlag{Name: "rate-limit", Usage: "B's per-client budgets: `off`, or N reads and N writes a minute (default: the network's, 1,000 reads and 300 writes)"},
			&cli.BoolFlag{Name: "json", Usage: "print the endpoints as one JSON object instead of text"},
		},
		Action: func(c *cli.Context) error {
			log := logger(c)
			limits, err := parseRateLimit(c.String("rate-limit"))
			if err != nil {
				return err
			}
			dir := c.String("dir")
			if dir == "" {
				if dir, err = os.MkdirTemp("", "dxl-demo-"); err != nil {
					return err
				}
			}
			if !c.Bool("keep") {
				defer os.RemoveAll(dir)
			}
			fmt.Fprintf(c.App.ErrWriter, "Starting the DXL demo network in %s …\n", dir)
			d, err := devnet.StartDemo(c.Context, devnet.DemoOptions{
				Options:    devnet.Options{Dir: dir, Logger: quiet(log)},
				APIListenA: c.String("api-listen"), BackendListen: c.String("backend-listen"), RateLimits: limits,
			})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			defer d.Close()
			login, pending, err := demoConsole(c, d)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			nodeLogins, err := demoNodeConsoles(d)
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			tokenFile := filepath.Join(dir, "admin.token")
			if err := os.WriteFile(tokenFile, []byte(d.AdminToken+"\n"), 0o600); err != nil {
				return err
			}
			curl := d.CurlCommand("/citizens/001")
			docSend, docInbox, docFetch, docAck, docStatus := d.DeliveryCommands()
			bench := fmt.Sprintf("go run . bench --url https://%s/r1/%s/bench --cacert %s --cert %s --key %s -c 16 -n 2000",
				d.A.Node.APIAddr(), d.Service, d.APICert, d.ISCert, d.ISKey)
			docs, docLines := demoDocCommands(d)
			if c.Bool("json") {
				keys := map[string]string{
					"dir": dir, "registry": d.Anchor.Servers[0], "anchor": d.AnchorPath, "admin_token_file": tokenFile, "tsa": d.TSAURL, "backend": d.BackendURL,
					"node_a_api": "https://" + d.A.Node.APIAddr(), "node_b_api": "https://" + d.B.Node.APIAddr(),
					"service": d.Service, "client": d.ClientA, "curl": curl, "bench": bench,
					"console_url": login.URL, "console_account": login.Account, "console_password": login.Password,
					"console_totp_secret": login.TOTPSecret, "pending_request": pending,
					"doc_send": docSend, "doc_inbox": docInbox, "doc_fetch": docFetch, "doc_ack": docAck, "doc_status": docStatus,
					"node_a_console_url": nodeLogins[0].URL, "node_a_console_account": nodeLogins[0].Account,
					"node_a_console_password": nodeLogins[0].Password, "node_a_console_totp_secret": nodeLogins[0].TOTPSecret,
					"node_b_console_url": nodeLogins[1].URL, "node_b_console_account": nodeLogins[1].Account,
					"node_b_console_password": nodeLogins[1].Password, "node_b_console_totp_secret": nodeLogins[1].TOTPSecret,
				}
				maps.Copy(keys, docs)
				out, _ := json.MarshalIndent(keys, "", "  ")
				fmt.Fprintln(c.App.Writer, string(out))
			} else {
				fmt.Fprintf(c.App.Writer, `DXL demo network is up (state in %[1]s)
  registry   %[2]s  anchor %[13]s, admin token in %[14]s
  TSA        %[3]s
  node A     https://%[4]s   consumer API of agency A (%[5]s)
  node B     https://%[6]s   agency B, provider of %[7]s
  backend    %[8]s   agency B's own sample backend, called directly

Call B's service from A's side, through both nodes:
%[9]s
More to try:
  %[10]s
  curl -sS --cacert %[11]s https://%[4]s/health
  %[12]s
  curl -sS %[8]s/citizens/001        # the backend directly, for comparison
  go run . registry member list --anchor %[13]s --token-file %[14]s
Evidence of a call (add -i to the curl above to see its X-Request-ID):
  go run . log export --dir %[15]s --request-id ID --out call.evidence.json
  go run . log verify call.evidence.json --root %[16]s --tsr-out call.tsr
A load test through both nodes%[18]s:
  %[17]s
Send a document from A's system to B's, asynchronously (FILE: any file; ID: the "id" it answers):
  %[24]s
  %[25]s        # B's system: its inbox
  %[26]s -o doc   # fetch it
  %[27]s   # acknowledge: B signs a receipt
  %[28]s   # A's system: its status and B's signed receipt
The same with dxl doc (B's system follows its events with "doc events"):
%[29]sRegistry web console (its certificate is the demo CA's: accept the browser's warning, or trust %[16]s):
  %[19]s
  account %[20]s, password %[21]s (demo only: printed here, never do this with a real account)
  TOTP secret %[22]s: add it to an authenticator app, or get the current code with
  DXL_TOTP_SECRET=%[22]s go run . registry console-user code
  agency C's registration %[23]s is waiting in the approval queue
`, dir, d.Anchor.Servers[0], d.TSAURL, d.A.Node.APIAddr(), d.ClientA, d.B.Node.APIAddr(), d.Service, d.BackendURL,
					curl,
					d.CurlCommand("/citizens")+` -H 'Content-Type: application/json' -d '{"name":"Tran Thi B"}'`,
					d.APICert,
					fmt.Sprintf("curl -sS --cacert %s --cert %s --key %s https://%s/r1/%s/listMethods", d.APICert, d.ISCert, d.ISKey, d.A.Node.APIAddr(), devnetProvider(d)),
					d.AnchorPath, tokenFile, d.A.Dir, filepath.Join(dir, "registry", membership.DirCA, ca.FileRoot), bench, benchNote(limits),
					login.URL, login.Account, login.Password, login.TOTPSecret, pending, docSend, docInbox, docFetch, docAck, docStatus, docLines)
				printNodeConsoles(c, d, nodeLogins)
			}
			<-c.Context.Done()
			fmt.Fprintln(c.App.ErrWriter, "stopping")
			return nil
		},
	}
}

// parseRateLimit reads --rate-limit: "" keeps the network's budgets, "off"
// lifts them, N allows N reads and N writes a minute.
func parseRateLimit(s string) (*services.Limits, error) {
	switch s {
	case "":
		return nil, nil
	case "off":
		l := devnet.Unlimited
		return &l, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("--rate-limit %q: give off, or a number of calls a minute of at least 1 (e.g. --rate-limit 60000)", s)
	}
	return &services.Limits{ReadsPerMin: n, WritesPerMin: n}, nil
}

// benchNote warns, after the demo's load-test line, when the network's
// rate limits are on.
func benchNote(limits *services.Limits) string {
	if limits == nil {
		return " (the network's rate limits answer most of it 429: start the demo with --rate-limit off)"
	}
	return ""
}

func devnetProvider(d *devnet.Demo) string { return d.Network.SubsystemID(devnet.AgencyB) }

// quiet keeps the demo's terminal readable: only warnings and errors from
// the network's components, unless --log-level asks for more.
func quiet(l *slog.Logger) *slog.Logger {
	if l.Enabled(nil, slog.LevelInfo) && !l.Enabled(nil, slog.LevelDebug) {
		return slog.New(levelFilter{l.Handler(), slog.LevelWarn})
	}
	return l
}

// demoNodeConsoles gives the web consoles of nodes A and B a node
// administrator each, with a printed password and TOTP secret.
func demoNodeConsoles(d *devnet.Demo) ([]devnet.ConsoleLogin, error) {
	var out []devnet.ConsoleLogin
	for _, h := range []*devnet.NodeHandle{d.A, d.B} {
		l, err := h.ConsoleAccount("demo-admin", nodeconsole.RoleAdministrator)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

func printNodeConsoles(c *cli.Context, d *devnet.Demo, logins []devnet.ConsoleLogin) {
	fmt.Fprintf(c.App.Writer, "Node web consoles (node administrator; trust %s and %s, or accept the browser's warning):\n", d.APICert, d.APICertB)
	for i, l := range logins {
		fmt.Fprintf(c.App.Writer, "  node %c  %s\n    account %s, password %s, TOTP secret %s\n    (code: DXL_TOTP_SECRET=%s go run . node console-user code)\n",
			'A'+i, l.URL, l.Account, l.Password, l.TOTPSecret, l.TOTPSecret)
	}
	fmt.Fprintln(c.App.Writer, "Ctrl-C stops.")
}

// demoConsole gives the demo's registry console an administrator with a
// printed password and TOTP secret, and leaves agency C's registration
// pending in its queue.
func demoConsole(c *cli.Context, d *devnet.Demo) (devnet.ConsoleLogin, string, error) {
	login, err := d.ConsoleAccount("demo-admin", console.RoleAdministrator)
	if err != nil {
		return login, "", err
	}
	pending, err := d.Submit(c.Context, devnet.AgencyC)
	return login, pending, err
}
