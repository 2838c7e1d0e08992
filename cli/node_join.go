package cli

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node"
)

// nodeJoinCommand is init, register and enroll in one: from the anchor
// and the filled-in form to a node ready to serve.
func nodeJoinCommand() *cli.Command {
	return &cli.Command{
		Name:  "join",
		Usage: "create a node, submit the registration and wait for the approval: init, register and enroll in one",
		Description: `Creates the node in --dir (as 'dxl node init'), submits the member's
registration form with its certificate requests (as 'dxl node register'),
then waits up to --wait for an operator to approve it and installs the
certificates (as 'dxl node enroll'). Run again after an interruption: the
steps already done are skipped. Then start the node with 'dxl node serve'.

Example:
   DXL_PASSPHRASE=... dxl node join --dir n1 --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26 \
       --form registration.json --wait 72h`,
		Flags: []cli.Flag{nodeDirFlag(), nodePassFlag(), jsonFlag(),
			&cli.StringFlag{Name: "anchor", Usage: "the network's anchor `FILE`", Required: true, TakesFile: true},
			&cli.StringFlag{Name: "member", Usage: "member ID INSTANCE/CLASS/CODE", Required: true},
			&cli.StringFlag{Name: "form", Usage: "registration `FILE` (Form 01/02, JSON)", Required: true, TakesFile: true},
			&cli.DurationFlag{Name: "wait", Value: 72 * time.Hour, Usage: "how long to wait for the approval"},
			&cli.StringSliceFlag{Name: "listen", Usage: "libp2p listen `MULTIADDR` (repeatable)", Value: cli.NewStringSlice(node.DefaultP2PListen)},
			&cli.StringSliceFlag{Name: "announce", Usage: "libp2p `MULTIADDR` other nodes dial (repeatable; default --listen)"},
			&cli.StringFlag{Name: "api-listen", Value: node.DefaultAPIListen, Usage: "consumer API address for information systems"},
			&cli.StringSliceFlag{Name: "api-host", Usage: "extra DNS name or IP for the consumer API certificate (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			form, err := loadRegistration(c, c.String("form"))
			if err != nil {
				return err
			}
			dir := c.String("dir")
			_, statErr := os.Stat(filepath.Join(dir, node.FileAuthKey))
			pass, err := nodePass(c, errors.Is(statErr, os.ErrNotExist))
			if err != nil {
				return err
			}
			say := func(format string, a ...any) { fmt.Fprintf(c.App.ErrWriter, format+"\n", a...) }
			if errors.Is(statErr, os.ErrNotExist) {
				anchor, err := globalconf.LoadAnchor(c.String("anchor"))
				if err != nil {
					return err
				}
				cfg := node.Config{Member: c.String("member"), P2PListen: c.StringSlice("listen"), P2PAnnounce: c.StringSlice("announce"), APIListen: c.String("api-listen")}
				res, err := node.Init(dir, cfg, node.InitOptions{Anchor: anchor, Organization: form.Unit.Name, APIHosts: c.StringSlice("api-host")}, pass)
				if err != nil {
					return err
				}
				say("1/3 node created in %s, peer ID %s", dir, res.PeerID)
			} else {
				say("1/3 node already created in %s", dir)
			}
			reg, err := nodeRegistry(c, dir)
			if err != nil {
				return err
			}
			defer reg.Close()
			if e, err := node.LoadEnrollment(dir); err == nil && e.RequestID != "" {
				say("2/3 registration %s already submitted", e.RequestID)
			} else {
				st, err := node.Register(c.Context, dir, reg, form, pass)
				if err != nil {
					return err
				}
				say("2/3 registration %s submitted; an operator approves it: dxl registry request approve %s", st.RequestID, st.RequestID)
			}
			say("3/3 waiting up to %s for the approval …", c.Duration("wait"))
			certs, err := node.Enroll(c.Context, dir, reg, pass, c.Duration("wait"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, map[string]string{"member": certs.Member, "peer_id": certs.PeerID, "dir": dir})
			}
			fmt.Fprintf(c.App.Writer, "joined: member %s, peer ID %s\nnext: dxl node serve --dir %s\n", certs.Member, certs.PeerID, dir)
			return nil
		},
	}
}

// nodeClientCommand adds an information system to the node.
func nodeClientCommand() *cli.Command {
	return &cli.Command{
		Name:  "client",
		Usage: "let an information system call through this node",
		Subcommands: []*cli.Command{{
			Name:  "add",
			Usage: "pin an information system's TLS client certificate (given, or created now), or create a consumer key and secret",
			Description: `With --create NAME, creates a client certificate and key for the system
(NAME.pem, NAME.key in --out) and pins it in node.json; with --cert FILE,
pins that certificate; restart the node to load a pin. With --credential,
asks the running node for a consumer key and secret (for POST /token) and
prints them once. No JSON is edited by hand.

Examples:
   dxl node client add --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/HOTICH --create hotich
   dxl node client add --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/HOTICH --cert is.pem
   dxl node client add --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/HOTICH --credential --json`,
			Flags: []cli.Flag{nodeDirFlag(), jsonFlag(),
				&cli.StringFlag{Name: "subsystem", Usage: "the information system, INSTANCE/CLASS/MEMBER/SUBSYSTEM", Required: true},
				&cli.StringFlag{Name: "create", Usage: "create a certificate and key named `NAME`"},
				&cli.StringFlag{Name: "out", Value: ".", Usage: "the `DIR` for --create's files"},
				&cli.StringFlag{Name: "cert", Usage: "pin this PEM certificate `FILE`", TakesFile: true},
				&cli.BoolFlag{Name: "credential", Usage: "create a consumer key and secret on the running node instead"}},
			Action: nodeClientAdd,
		}},
	}
}

func nodeClientAdd(c *cli.Context) error {
	dir, sub := c.String("dir"), c.String("subsystem")
	n := 0
	for _, f := range []string{"create", "cert", "credential"} {
		if c.IsSet(f) {
			n++
		}
	}
	if n != 1 {
		return errors.New("give one of --create NAME, --cert FILE or --credential")
	}
	if c.Bool("credential") {
		var cred map[string]any
		if err := adminCall(c, http.MethodPost, "/v1/credentials", map[string]string{"subsystem": sub}, &cred); err != nil {
			return err
		}
		if c.Bool("json") {
			return printJSON(c, cred)
		}
		fmt.Fprintf(c.App.Writer, "consumer key %v\nsecret       %v (shown once)\nget a token: curl --cacert %s -u KEY:SECRET -d grant_type=client_credentials https://NODE/token\n",
			cred["key_id"], cred["secret"], filepath.Join(dir, node.FileAPICert))
		return nil
	}
	certFile, keyFile := c.String("cert"), ""
	if name := c.String("create"); name != "" {
		var err error
		if certFile, keyFile, _, err = node.CreateClientCert(c.String("out"), name); err != nil {
			return err
		}
	}
	pin, err := node.PinClient(dir, sub, certFile)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, map[string]string{"subsystem": pin.Subsystem, "cert_sha256": pin.CertSHA256, "cert": certFile, "key": keyFile})
	}
	fmt.Fprintf(c.App.Writer, "pinned %s for %s (SHA-256 %s)\n", certFile, sub, pin.CertSHA256)
	if keyFile != "" {
		fmt.Fprintf(c.App.Writer, "its key: %s (give both to the information system)\n", keyFile)
	}
	fmt.Fprintf(c.App.Writer, "restart the node to load it (systemctl restart dxl-node, or dxl node serve --dir %s)\n", dir)
	return nil
}
