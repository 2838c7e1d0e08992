package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node"
)

func nodeDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Value: "dxl-node", Usage: "node directory", EnvVars: []string{"DXL_NODE_DIR"}}
}

func nodePassFlag() cli.Flag { return passphraseFlag("passphrase-file", "the node's keys") }

func nodePass(c *cli.Context, confirm bool) ([]byte, error) {
	return passphrase(c, "passphrase-file", []string{EnvPassphrase}, "the node's keys", confirm)
}

// nodeRegistry is a registry client from the node directory's anchor.
func nodeRegistry(c *cli.Context, dir string) (*client.Client, error) {
	anchor, err := globalconf.LoadAnchor(filepath.Join(dir, node.FileAnchor))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, r := range anchor.Roots {
		roots.AddCert(r)
	}
	return client.New(anchor.Servers, client.WithRoots(roots), client.WithLogger(logger(c)))
}

func nodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "run an agency's DXL node: set up, register with the registry, enroll, serve",
		Description: `A node is an agency's gateway: its information systems call other agencies'
services through it (consumer API, HTTPS), and it serves the agency's own
services to other nodes over libp2p. Setting one up:

   export DXL_PASSPHRASE=change-me
   dxl node init --dir n1 --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26 \
       --listen /ip4/0.0.0.0/tcp/4001 --announce /ip4/203.0.113.7/tcp/4001
   dxl node register --dir n1 --form registration.json     # prints the request ID
   # an operator approves: dxl registry request approve REQUEST_ID
   dxl node enroll --dir n1 --wait 24h                     # installs the certificates
   dxl node serve --dir n1`,
		Subcommands: []*cli.Command{nodeJoinCommand(), nodeInitCommand(), nodeRegisterCommand(), nodeEnrollCommand(), nodeServeCommand(), nodeClientCommand(), nodeServiceCommand(), nodeSystemCommand(),
			nodeStatusCommand(), nodeCredentialCommand(), nodeAccessKeyCommand(), nodeRecordsCommand(), nodeDoctorCommand(),
			nodeBackupCommand(), nodeRestoreCommand(), nodeConsoleUserCommand(), nodeAccessCommand()},
	}
}

func nodeInitCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create a node directory: keys (sealed), certificate requests, node.json",
		Description: `Creates the node's Ed25519 auth key (its libp2p identity), the member's
Ed25519 signing key, the token endpoint's key and the consumer API's TLS key
and self-signed certificate, all sealed with the passphrase; writes node.json
and copies the anchor. Edit node.json afterwards for services, access rights
and pinned information-system certificates (docs/integration.md).

Example:
   dxl node init --dir n1 --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26`,
		Flags: []cli.Flag{nodeDirFlag(), nodePassFlag(), jsonFlag(),
			&cli.StringFlag{Name: "anchor", Usage: "the network's anchor `FILE`", Required: true, TakesFile: true},
			&cli.StringFlag{Name: "member", Usage: "member ID INSTANCE/CLASS/CODE", Required: true},
			&cli.StringFlag{Name: "org", Usage: "organisation name for the certificate requests"},
			&cli.StringSliceFlag{Name: "listen", Usage: "libp2p listen `MULTIADDR` (repeatable)", Value: cli.NewStringSlice(node.DefaultP2PListen)},
			&cli.StringSliceFlag{Name: "announce", Usage: "libp2p `MULTIADDR` other nodes dial, registered with the registry (repeatable; default --listen)"},
			&cli.StringFlag{Name: "api-listen", Value: node.DefaultAPIListen, Usage: "consumer API address for information systems"},
			&cli.StringSliceFlag{Name: "api-host", Usage: "extra DNS name or IP for the consumer API certificate (repeatable)"},
			&cli.StringFlag{Name: "sign-from", Usage: "share the member's signing key and certificate of the node in `DIR` (a further node; same passphrase); register it with 'dxl registry node add'", TakesFile: true},
		},
		Action: func(c *cli.Context) error {
			anchor, err := globalconf.LoadAnchor(c.String("anchor"))
			if err != nil {
				return err
			}
			pass, err := nodePass(c, true)
			if err != nil {
				return err
			}
			cfg := node.Config{Member: c.String("member"), P2PListen: c.StringSlice("listen"), P2PAnnounce: c.StringSlice("announce"),
				APIListen: c.String("api-listen")}
			res, err := node.Init(c.String("dir"), cfg, node.InitOptions{Anchor: anchor, Organization: c.String("org"), APIHosts: c.StringSlice("api-host"), SignFrom: c.String("sign-from")}, pass)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, res)
			}
			next := "dxl node register --dir " + res.Dir + " --form registration.json"
			if c.String("sign-from") != "" {
				next = "an operator runs: dxl registry node add --member " + cfg.Member + " --csr " + filepath.Join(res.Dir, node.FileNodeCSR)
			}
			fmt.Fprintf(c.App.Writer, "node created in %s\n  peer ID          %s\n  API certificate  %s (SHA-256 %s)\nnext: %s\n",
				res.Dir, res.PeerID, filepath.Join(res.Dir, node.FileAPICert), res.APICertSHA256, next)
			return nil
		},
	}
}

func nodeRegisterCommand() *cli.Command {
	return &cli.Command{
		Name:  "register",
		Usage: "submit the member's registration (Form 01/02) with the node's certificate requests",
		Description: `Example:
   dxl node register --dir n1 --form docs/examples/registration.json`,
		Flags: []cli.Flag{nodeDirFlag(), nodePassFlag(), jsonFlag(),
			&cli.StringFlag{Name: "form", Usage: "registration `FILE` (JSON, - for stdin)", Required: true, TakesFile: true}},
		Action: func(c *cli.Context) error { return submitForm(c, node.Register) },
	}
}

// submitForm sends --form with submit, signed by the node in --dir, and
// prints the request's status, followed while pending for --wait if the
// command has it.
func submitForm(c *cli.Context, submit func(context.Context, string, *client.Client, state.Registration, []byte) (client.RegistrationStatus, error)) error {
	form, err := loadRegistration(c, c.String("form"))
	if err != nil {
		return err
	}
	pass, err := nodePass(c, false)
	if err != nil {
		return err
	}
	reg, err := nodeRegistry(c, c.String("dir"))
	if err != nil {
		return err
	}
	defer reg.Close()
	st, err := submit(c.Context, c.String("dir"), reg, form, pass)
	if err == nil && c.Duration("wait") > 0 {
		st, err = node.WaitDecision(c.Context, reg, st.RequestID, c.Duration("wait"))
	}
	if err != nil {
		return err
	}
	return printStatus(c, st)
}

func nodeEnrollCommand() *cli.Command {
	return &cli.Command{
		Name:  "enroll",
		Usage: "install the node's certificates once the registration is approved",
		Description: `Example:
   dxl node enroll --dir n1 --wait 1h`,
		Flags: []cli.Flag{nodeDirFlag(), nodePassFlag(), jsonFlag(),
			&cli.DurationFlag{Name: "wait", Usage: "keep polling this long while the registration is pending"}},
		Action: func(c *cli.Context) error {
			pass, err := nodePass(c, false)
			if err != nil {
				return err
			}
			reg, err := nodeRegistry(c, c.String("dir"))
			if err != nil {
				return err
			}
			defer reg.Close()
			certs, err := node.Enroll(c.Context, c.String("dir"), reg, pass, c.Duration("wait"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, map[string]string{"member": certs.Member, "peer_id": certs.PeerID, "dir": c.String("dir")})
			}
			fmt.Fprintf(c.App.Writer, "enrolled: member %s, peer ID %s\nnext: dxl node serve --dir %s\n", certs.Member, certs.PeerID, c.String("dir"))
			return nil
		},
	}
}

func nodeServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the node until interrupted",
		Description: `Example:
   dxl node serve --dir n1`,
		Flags: []cli.Flag{nodeDirFlag(), nodePassFlag()},
		Action: func(c *cli.Context) error {
			pass, err := nodePass(c, false)
			if err != nil {
				return err
			}
			n, err := node.Open(c.Context, c.String("dir"), pass, node.WithLogger(logger(c)))
			if err != nil {
				return err
			}
			defer n.Close()
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
			defer signal.Stop(sig)
			select {
			case <-c.Context.Done():
			case <-sig:
			}
			return nil
		},
	}
}

// adminCall calls the running node's admin socket and decodes its JSON
// answer into out.
func adminCall(c *cli.Context, method, path string, body any, out any) error {
	raw, _, err := adminDo(c, method, path, body)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// adminGet returns the raw body of a GET on the node's admin socket.
func adminGet(c *cli.Context, path string) ([]byte, error) {
	raw, _, err := adminDo(c, http.MethodGet, path, nil)
	return raw, err
}

// maxAdminAnswer bounds what the CLI reads from the admin socket.
const maxAdminAnswer = 1 << 30

// adminDo calls the running node's admin socket; a JSON error answer
// becomes an error "code: message".
func adminDo(c *cli.Context, method, path string, body any) ([]byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://node"+path, rd)
	if err != nil {
		return nil, nil, err
	}
	resp, err := node.AdminClient(c.String("dir")).Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("node admin socket in %s: %w (is 'dxl node serve' running?)", c.String("dir"), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminAnswer+1))
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > maxAdminAnswer {
		return nil, nil, fmt.Errorf("node admin: answer over %d bytes; narrow the query", maxAdminAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		var e node.ErrorBody
		if json.Unmarshal(raw, &e) == nil && e.Code != "" {
			return nil, nil, fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return nil, nil, errors.New("node admin: " + resp.Status)
	}
	return raw, resp.Header, nil
}

func nodeStatusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the running node's health: configuration version and age, peers online",
		Description: `Example:
   dxl node status --dir n1 --json`,
		Flags: []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			var h node.Health
			if err := adminCall(c, http.MethodGet, "/v1/health", nil, &h); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, h)
			}
			fmt.Fprintf(c.App.Writer, "status %s  member %s  peer %s\nconfiguration version %d, age %s %s\npeers online %d of %d\n",
				h.Status, h.Member, h.PeerID, h.ConfigVersion, h.ConfigAge, h.ConfigError, h.PeersOnline, len(h.Peers))
			for _, p := range h.Peers {
				state := "offline"
				if p.Online {
					state = "online"
				}
				fmt.Fprintf(c.App.Writer, "  %-8s %s %s %s\n", state, p.PeerID, p.Member, p.LastError)
			}
			return nil
		},
	}
}

func nodeCredentialCommand() *cli.Command {
	sub := func() cli.Flag {
		return &cli.StringFlag{Name: "subsystem", Usage: "the information system, INSTANCE/CLASS/MEMBER/SUBSYSTEM", Required: true}
	}
	return &cli.Command{
		Name:  "credential",
		Usage: "consumer keys and secrets for information systems (OAuth 2.0 client credentials)",
		Description: `The node must be running (they go through its admin socket). The secret
is shown once; the node keeps only its SHA-256.

Example:
   dxl node credential create --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/HOTICH
   curl --cacert n1/api.pem -u KEY:SECRET -d grant_type=client_credentials https://127.0.0.1:8443/token`,
		Subcommands: []*cli.Command{
			{Name: "create", Usage: "create a consumer key and secret", Flags: []cli.Flag{nodeDirFlag(), sub(), jsonFlag()},
				Action: func(c *cli.Context) error {
					var cred map[string]string
					if err := adminCall(c, http.MethodPost, "/v1/credentials", map[string]string{"subsystem": c.String("subsystem")}, &cred); err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(c, cred)
					}
					fmt.Fprintf(c.App.Writer, "consumer key    %s\nconsumer secret %s   (shown once)\n", cred["key_id"], cred["secret"])
					return nil
				}},
			{Name: "list", Usage: "list consumer keys", Flags: []cli.Flag{nodeDirFlag(), jsonFlag()},
				Action: func(c *cli.Context) error {
					var recs []map[string]any
					if err := adminCall(c, http.MethodGet, "/v1/credentials", nil, &recs); err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(c, recs)
					}
					for _, r := range recs {
						fmt.Fprintf(c.App.Writer, "%v  %v\n", r["key_id"], r["subsystem"])
					}
					return nil
				}},
			{Name: "revoke", Usage: "revoke a consumer key and every token issued under it", ArgsUsage: "KEY",
				Flags: []cli.Flag{nodeDirFlag(), jsonFlag()},
				Action: func(c *cli.Context) error {
					key, err := oneArg(c, "consumer key")
					if err != nil {
						return err
					}
					var out map[string]string
					return adminCall(c, http.MethodDelete, "/v1/credentials/"+key, nil, &out)
				}},
		},
	}
}
