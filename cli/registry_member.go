package cli

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// memberCommand is `dxl registry member`: list, show, suspend, reactivate
// and revoke members; connectionCommand cancels one subsystem.
func memberCommand() *cli.Command {
	action := func(name, usage, example string, reasonRequired bool,
		call func(c *cli.Context, cl *client.Client, member string) (state.Result, error)) *cli.Command {
		flags := adminFlags(&cli.StringFlag{Name: "reason", Usage: "why (recorded in the history)", Required: reasonRequired})
		if name == "revoke" {
			flags = append(flags, &cli.StringFlag{Name: "note", Usage: "free text for the history"})
		}
		return &cli.Command{
			Name: name, Usage: usage, ArgsUsage: "MEMBER-ID", Description: example, Flags: flags,
			Action: func(c *cli.Context) error {
				id, err := oneArg(c, "member ID INSTANCE/CLASS/CODE")
				if err != nil {
					return err
				}
				return withRegistry(c, true, func(cl *client.Client) error {
					res, err := call(c, cl, id)
					if err != nil {
						return err
					}
					return printResult(c, name+"d", res)
				})
			},
		}
	}
	return &cli.Command{
		Name:  "member",
		Usage: "admitted members: list, show, suspend, reactivate, revoke",
		Description: `Suspension is reversible; revocation is final and puts the member's node
and signing certificate serials into the signed configuration.

Example:
   export DXL_OPERATOR_TOKEN=$(cat operator.token)
   dxl registry member list --anchor anchor.json --status active`,
		Subcommands: []*cli.Command{
			{
				Name:        "list",
				Usage:       "list members",
				Description: "Example:\n   dxl registry member list --anchor anchor.json --status active --json",
				Flags:       adminFlags(&cli.StringFlag{Name: "status", Usage: "only members with this status: pending, active, suspended or revoked"}),
				Action: func(c *cli.Context) error {
					return withRegistry(c, true, func(cl *client.Client) error {
						list, err := cl.Members(c.Context, ident.MemberStatus(c.String("status")))
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, list)
						}
						tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
						fmt.Fprintln(tw, "MEMBER\tSTATUS\tNAME\tUPDATED")
						for _, m := range list {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.ID, m.Status, m.Name, fmtTime(m.UpdatedAt))
						}
						return tw.Flush()
					})
				},
			},
			{
				Name:        "show",
				Usage:       "show a member with its subsystems and nodes",
				ArgsUsage:   "MEMBER-ID",
				Description: "Example:\n   dxl registry member show --anchor anchor.json VN-TEST/GOV/000.00.00.H26",
				Flags:       adminFlags(),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "member ID INSTANCE/CLASS/CODE")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						m, err := cl.Member(c.Context, id)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, m)
						}
						w := c.App.Writer
						fmt.Fprintf(w, "member:  %s\nname:    %s\nstatus:  %s %s\nrequest: %s\ncreated: %s\nupdated: %s\n",
							m.ID, m.Name, m.Status, m.StatusReason, m.RequestID, fmtTime(m.CreatedAt), fmtTime(m.UpdatedAt))
						for _, s := range m.Subsystems {
							fmt.Fprintf(w, "subsystem %s  %s  %s\n", s.ID, s.Status, s.Name)
						}
						for _, n := range m.Nodes {
							fmt.Fprintf(w, "node %s  %s  %s\n", n.PeerID, n.Status, strings.Join(n.Addrs, " "))
						}
						return nil
					})
				},
			},
			action("suspend", "suspend an active member (reversible)",
				"Example:\n   dxl registry member suspend --anchor anchor.json --reason \"security audit\" VN-TEST/GOV/000.00.00.H26", true,
				func(c *cli.Context, cl *client.Client, m string) (state.Result, error) {
					return cl.Suspend(c.Context, m, c.String("reason"))
				}),
			action("reactivate", "reactivate a suspended member",
				"Example:\n   dxl registry member reactivate --anchor anchor.json --reason \"audit passed\" VN-TEST/GOV/000.00.00.H26", false,
				func(c *cli.Context, cl *client.Client, m string) (state.Result, error) {
					return cl.Reactivate(c.Context, m, c.String("reason"))
				}),
			action("revoke", "revoke a member for good; its certificate serials enter the configuration",
				"--reason is an RFC 5280 reason name: keyCompromise, affiliationChanged,\nsuperseded, cessationOfOperation, privilegeWithdrawn, unspecified.\n\n"+
					"Example:\n   dxl registry member revoke --anchor anchor.json --reason keyCompromise --note \"laptop stolen\" VN-TEST/GOV/000.00.00.H26", true,
				func(c *cli.Context, cl *client.Client, m string) (state.Result, error) {
					return cl.Revoke(c.Context, m, c.String("reason"), c.String("note"))
				}),
		},
	}
}

func connectionCommand() *cli.Command {
	return &cli.Command{
		Name:  "connection",
		Usage: "member connections: cancel",
		Subcommands: []*cli.Command{{
			Name:  "cancel",
			Usage: "cancel a node's or a subsystem's connection (final; the node's serial enters the configuration)",
			Description: `Give the member and either --peer-id (a node) or --subsystem.

Example:
   dxl registry connection cancel --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26 \
      --peer-id 12D3KooW... --reason "node decommissioned"`,
			Flags: adminFlags(
				&cli.StringFlag{Name: "member", Usage: "member ID INSTANCE/CLASS/CODE", Required: true},
				&cli.StringFlag{Name: "peer-id", Usage: "the node's libp2p peer ID"},
				&cli.StringFlag{Name: "subsystem", Usage: "the subsystem ID INSTANCE/CLASS/CODE/SUBSYSTEM"},
				&cli.StringFlag{Name: "reason", Usage: "why (recorded in the history)", Required: true},
			),
			Action: func(c *cli.Context) error {
				if (c.String("peer-id") == "") == (c.String("subsystem") == "") {
					return errors.New("give exactly one of --peer-id and --subsystem")
				}
				return withRegistry(c, true, func(cl *client.Client) error {
					res, err := cl.CancelConnection(c.Context, client.CancelConnectionRequest{Member: c.String("member"),
						PeerID: c.String("peer-id"), Subsystem: c.String("subsystem"), Reason: c.String("reason")})
					if err != nil {
						return err
					}
					return printResult(c, "cancelled", res)
				})
			},
		}},
	}
}
