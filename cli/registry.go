package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

func registryCommand() *cli.Command {
	return &cli.Command{
		Name:  "registry",
		Usage: "membership registry: cluster servers, admission of members, the signed global configuration",
		Description: `A registry server lives in one directory R: registry.json (ID, addresses),
server.key/.pem (its registry-server TLS certificate), config.key/.pem (the
configuration signer), ca/ (the network CA), raft/ (log and snapshots),
anchor.json (what nodes start from) and, on the first server, tsa/.

A 3-server cluster on one machine (docs/registry.md walks through it):
   export DXL_PASSPHRASE=change-me
   dxl registry init --dir r1 --instance VN-TEST --id reg-1 --raft-listen 127.0.0.1:7001 \
       --api-listen 127.0.0.1:8441 --api-url https://127.0.0.1:8441 --ip 127.0.0.1 > admin.txt
   dxl registry serve --dir r1 &
   export DXL_OPERATOR_TOKEN=<admin token from init>
   T=$(dxl registry token --dir r1)
   dxl registry join --dir r2 --token "$T" --id reg-2 --raft-listen 127.0.0.1:7002 \
       --api-listen 127.0.0.1:8442 --api-url https://127.0.0.1:8442 --ip 127.0.0.1
   dxl registry serve --dir r2 &
   dxl registry status --dir r1`,
		Subcommands: append([]*cli.Command{
			registryInitCommand(), registryServeCommand(), registryTokenCommand(), registryJoinCommand(),
			registryRemoveCommand(), registryStatusCommand(), registryAnchorCommand(), registryBackupCommand(), registryRestoreCommand(), registryDoctorCommand(),
			consoleUserCommand(),
		}, registryAdminCommands()...),
	}
}

// Flags shared by the registry commands, made afresh for every command.
func regDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Usage: "registry server directory", EnvVars: []string{"DXL_REGISTRY_DIR"}}
}

func regPassFlag() cli.Flag {
	return passphraseFlag("passphrase-file", "the registry server's keys (default: $DXL_PASSPHRASE, else a prompt)")
}

func regPass(c *cli.Context, confirm bool) ([]byte, error) {
	return passphrase(c, "passphrase-file", []string{EnvPassphrase}, "the registry server's keys", confirm)
}

func addrFlags(def string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "id", Usage: "server ID (Raft ID; letters, digits, . - _)", Required: true},
		&cli.StringFlag{Name: "raft-listen", Usage: "Raft (mutual TLS) listen host:port", Required: true},
		&cli.StringFlag{Name: "raft-advertise", Usage: "Raft address the other servers dial (default --raft-listen)"},
		&cli.StringFlag{Name: "api-listen", Usage: "HTTPS API listen host:port", Required: true},
		&cli.StringFlag{Name: "api-url", Usage: "advertised API URL, https://host:port (" + def + ")", Required: true},
		&cli.StringSliceFlag{Name: "dns", Usage: "DNS name of this server for its TLS certificate (repeatable)"},
		&cli.StringSliceFlag{Name: "ip", Usage: "IP address of this server for its TLS certificate (repeatable)"},
	}
}

// serverAddrs reads the flags addrFlags defines.
func serverAddrs(c *cli.Context) (membership.ServerAddrs, error) {
	ips, err := parseIPs(c.StringSlice("ip"))
	return membership.ServerAddrs{
		ID: c.String("id"), RaftAddr: c.String("raft-listen"), RaftAdvertise: c.String("raft-advertise"),
		APIAddr: c.String("api-listen"), APIURL: c.String("api-url"), DNSNames: c.StringSlice("dns"), IPs: ips,
	}, err
}

func registryInitCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the first server of a new registry cluster",
		Description: `Creates the CA (or copies --import-ca), the server's registry-server
certificate, the configuration signer and, with --tsa, a TSA; bootstraps
Raft, records the instance, this server and a first admin operator, and
writes R/anchor.json. The admin token is printed once and stored nowhere.

Example:
   DXL_PASSPHRASE=... dxl registry init --dir r1 --instance VN-TEST --id reg-1 \
       --raft-listen 127.0.0.1:7001 --api-listen 127.0.0.1:8441 \
       --api-url https://127.0.0.1:8441 --ip 127.0.0.1 --json`,
		Flags: append(append([]cli.Flag{regDirFlag()}, addrFlags("nodes and servers use it")...),
			&cli.StringFlag{Name: "instance", Usage: "DXL instance code, e.g. VN-TEST or VN", Required: true},
			&cli.StringFlag{Name: "org", Usage: "operator organisation (CA subject O)"},
			&cli.StringFlag{Name: "operator", Usage: "operator member ID CLASS/CODE (member of the registry certificates)"},
			&cli.StringFlag{Name: "import-ca", Usage: "copy this existing CA `DIR` (keys sealed with the same passphrase) instead of creating one", TakesFile: true},
			&cli.BoolFlag{Name: "tsa", Usage: "also create a TSA in R/tsa (serve it with 'dxl tsa serve --dir R/tsa')"},
			&cli.StringFlag{Name: "tsa-url", Usage: "URL the TSA will be served at (listed in the configuration)"},
			&cli.StringFlag{Name: "admin-name", Value: "admin", Usage: "name of the first admin operator"},
			&cli.StringFlag{Name: "ca-url", Usage: "`URL` the CA's OCSP and CRL will be served at (registry serve --ca-listen): issued certificates point there"},
			regPassFlag(), jsonFlag()),
		Action: func(c *cli.Context) error {
			dir := c.String("dir")
			if dir == "" {
				return errors.New("missing --dir")
			}
			addrs, err := serverAddrs(c)
			if err != nil {
				return err
			}
			p, err := regPass(c, true)
			if err != nil {
				return err
			}
			res, err := membership.InitFirst(c.Context, dir, membership.InitOptions{
				Instance: c.String("instance"), ServerAddrs: addrs,
				Org: c.String("org"), Operator: c.String("operator"), ImportCA: c.String("import-ca"),
				TSA: c.Bool("tsa"), TSAURL: c.String("tsa-url"), AdminName: c.String("admin-name"), CAURL: c.String("ca-url"),
			}, p, membership.WithRegistryLogger(logger(c)))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, res)
			}
			fmt.Fprintf(c.App.Writer, `registry server %s initialised in %s (instance %s)
API:          %s
root sha256:  %s
anchor:       %s
admin token for operator %q (shown once; keep it safe):
%s
`, res.ID, res.Dir, res.Instance, res.APIURL, res.RootSHA256, res.Anchor, res.AdminName, res.AdminToken)
			return nil
		},
	}
}

func registryServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run a registry server until SIGINT or SIGTERM",
		Description: `Starts Raft over mutual TLS, the HTTPS API (with forwarding to the leader),
the configuration publisher and the CA sync. A server prepared by 'join'
asks to be added as a voter on its first start.

With --ca-listen it also serves the CA's OCSP responder and CRL there (the
locations issued certificates carry when the CA has a public_url), and
with --tsa-listen the TSA of R/tsa: the whole operator side in one process.

Examples:
   DXL_PASSPHRASE=... dxl registry serve --dir r1
   DXL_PASSPHRASE=... dxl registry serve --dir r1 --ca-listen 0.0.0.0:8081 --tsa-listen 0.0.0.0:8080`,
		Flags: []cli.Flag{regDirFlag(), regPassFlag(),
			&cli.StringFlag{Name: "ca-listen", Usage: "also serve the CA's OCSP and CRL on `ADDR`"},
			&cli.StringFlag{Name: "tsa-listen", Usage: "also serve the TSA of R/tsa on `ADDR`"}},
		Action: func(c *cli.Context) error {
			dir := c.String("dir")
			if dir == "" {
				return errors.New("missing --dir")
			}
			p, err := regPass(c, false)
			if err != nil {
				return err
			}
			log := logger(c)
			r, err := membership.Open(c.Context, dir, p, membership.WithRegistryLogger(log))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "registry server %s serving %s (API on %s); Ctrl-C stops\n", r.ID(), r.URL(), r.APIAddr())
			extra, err := operatorSide(c, r, dir, p)
			if err != nil {
				r.Close()
				return err
			}
			var serveErr error
			select {
			case <-c.Context.Done():
			case serveErr = <-r.Err():
			case serveErr = <-extra:
			}
			if err := r.Close(); serveErr == nil {
				serveErr = err
			}
			return serveErr
		},
	}
}

func registryTokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "token",
		Usage: "mint a one-time join token for a new registry server (admin)",
		Description: `The token names this server's API URL, pins the network root (SHA-256)
and carries a secret the registry keeps only hashed. It is valid once,
until --ttl passes. Prints the token (or JSON with --json).

Example:
   DXL_OPERATOR_TOKEN=... dxl registry token --dir r1 --ttl 30m`,
		Flags: []cli.Flag{regDirFlag(), registryFlag(), anchorFlag(), rootFlag(), tokenFlag(),
			&cli.DurationFlag{Name: "ttl", Value: state.DefaultJoinTokenTTL, Usage: "validity of the token"}, jsonFlag()},
		Action: func(c *cli.Context) error {
			return withRegistry(c, true, func(cl *client.Client) error {
				out, err := cl.CreateJoinToken(c.Context, c.Duration("ttl"))
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c, out)
				}
				fmt.Fprintln(c.App.Writer, out.Token)
				fmt.Fprintf(c.App.ErrWriter, "join token valid once until %s\n", out.ExpiresAt.Format(time.RFC3339))
				return nil
			})
		},
	}
}

func registryJoinCommand() *cli.Command {
	return &cli.Command{
		Name:  "join",
		Usage: "prepare a new registry server directory with a join token",
		Description: `Connects to the server named in the token over TLS, trusting only the root
the token pins, and sends this server's ID, addresses and a certificate
request. The registry uses the token up, issues the registry-server
certificate and returns the CA material and the configuration signer,
which are sealed here with this server's passphrase. Start the server with
'serve': it then asks to be added as a voter.

Example:
   DXL_PASSPHRASE=... dxl registry join --dir r2 --token "$T" --id reg-2 \
       --raft-listen 127.0.0.1:7002 --api-listen 127.0.0.1:8442 \
       --api-url https://127.0.0.1:8442 --ip 127.0.0.1
   dxl registry serve --dir r2`,
		Flags: append(append([]cli.Flag{regDirFlag(),
			&cli.StringFlag{Name: "token", Usage: "the join token (dxljoin1.…)", Required: true, EnvVars: []string{"DXL_JOIN_TOKEN"}}},
			addrFlags("recorded in the registry")...), regPassFlag(), jsonFlag()),
		Action: func(c *cli.Context) error {
			dir := c.String("dir")
			if dir == "" {
				return errors.New("missing --dir")
			}
			addrs, err := serverAddrs(c)
			if err != nil {
				return err
			}
			p, err := regPass(c, true)
			if err != nil {
				return err
			}
			res, err := membership.JoinCluster(c.Context, dir, membership.JoinOptions{Token: c.String("token"), ServerAddrs: addrs}, p)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, res)
			}
			fmt.Fprintf(c.App.Writer, "registry server %s admitted by %s (instance %s); start it with: dxl registry serve --dir %s\n",
				res.ID, res.JoinURL, res.Instance, res.Dir)
			return nil
		},
	}
}

func registryRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:  "remove",
		Usage: "remove a server from the cluster (admin)",
		Description: `Removes the server from the Raft configuration (on the leader: the command
follows a not-leader answer once) and forgets its registry-server record,
so the others stop accepting its certificate. Stop the server afterwards.

Example:
   DXL_OPERATOR_TOKEN=... dxl registry remove --dir r1 --id reg-3 --json`,
		Flags: []cli.Flag{regDirFlag(), registryFlag(), anchorFlag(), rootFlag(), tokenFlag(),
			&cli.StringFlag{Name: "id", Usage: "ID of the server to remove", Required: true}, jsonFlag()},
		Action: func(c *cli.Context) error {
			return withRegistry(c, true, func(cl *client.Client) error {
				out, err := cl.RemoveServer(c.Context, c.String("id"))
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c, out)
				}
				fmt.Fprintf(c.App.Writer, "registry server %s removed (index %d)\n", out.ID, out.Index)
				return nil
			})
		},
	}
}

func registryStatusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show a server's view of the cluster: leader, servers, indexes, config version",
		Description: `Example:
   DXL_OPERATOR_TOKEN=... dxl registry status --dir r1
   dxl registry status --registry https://registry-2.example:8443 --root root.pem --token-file op.token --json`,
		Flags: []cli.Flag{regDirFlag(), registryFlag(), anchorFlag(), rootFlag(), tokenFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return withRegistry(c, true, func(cl *client.Client) error {
				st, err := cl.Status(c.Context)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c, st)
				}
				w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "server\t%s (%s)\nleader\t%s %s\nterm\t%d\nlast/commit/applied\t%d/%d/%d\nconfig version\t%d (published %d)\n\n",
					st.ID, st.State, st.LeaderID, st.LeaderAddress, st.Term, st.LastIndex, st.CommitIndex, st.AppliedIndex, st.ConfigVersion, st.PublishedVersion)
				urls := map[string]string{}
				for _, rs := range st.RegistryServers {
					urls[rs.ID] = rs.URL
				}
				fmt.Fprintln(w, "ID\tSUFFRAGE\tRAFT\tAPI\tLEADER")
				for _, s := range st.Servers {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", s.ID, s.Suffrage, s.Address, urls[s.ID], s.Leader)
				}
				return w.Flush()
			})
		},
	}
}

func registryAnchorCommand() *cli.Command {
	return &cli.Command{
		Name:  "anchor",
		Usage: "write an anchor that lists every current registry server",
		Description: `Fetches the signed global configuration, verifies it against the anchor
already trusted (--anchor, default DIR/anchor.json) and writes an anchor with
the same instance, root and configuration signers and every registry server
the configuration lists. Give this file to nodes and operators: their
clients fail over between all of its servers. Run it again after a join or
a remove.

Example:
   dxl registry anchor --dir r1 --out anchor.json`,
		Flags: []cli.Flag{regDirFlag(), anchorFlag(), registryFlag(),
			&cli.StringFlag{Name: "out", Value: "-", Usage: "write the anchor to `FILE`", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "overwrite --out"}},
		Action: func(c *cli.Context) error {
			path := c.String("anchor")
			if path == "" && c.String("dir") != "" {
				path = filepath.Join(c.String("dir"), globalconf.AnchorFile)
			}
			if path == "" {
				return errors.New("say which anchor to start from: --anchor FILE or --dir")
			}
			anchor, err := globalconf.LoadAnchor(path)
			if err != nil {
				return err
			}
			return withRegistry(c, false, func(cl *client.Client) error {
				raw, err := cl.GlobalConfig(c.Context)
				if err != nil {
					return err
				}
				doc, err := globalconf.Verify(raw, anchor, time.Now())
				if err != nil {
					return err
				}
				servers := append([]string{}, anchor.Servers...)
				for _, rs := range doc.RegistryServers {
					if !slices.Contains(servers, rs.URL) {
						servers = append(servers, rs.URL)
					}
				}
				anchor.Servers = servers
				data, err := anchor.Marshal()
				if err != nil {
					return err
				}
				return writeOutput(c, c.String("out"), data, 0o644, c.Bool("force"))
			})
		},
	}
}
