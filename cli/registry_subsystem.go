package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/client"
)

// registrySubsystemCommand is `dxl registry subsystem`: what a member's
// subsystems declare in the global configuration.
func registrySubsystemCommand() *cli.Command {
	return &cli.Command{
		Name:  "subsystem",
		Usage: "a subsystem's declarations in the global configuration (documents it takes)",
		Subcommands: []*cli.Command{{
			Name:  "documents",
			Usage: "set the data types a subsystem takes by asynchronous delivery, and whether it is its member's inbox",
			Description: `Senders' nodes check a document against this before they accept it
(document_type_refused), and the recipient's node again when it arrives.
Without --accept the subsystem takes any data type. --member-inbox makes it
the subsystem that receives documents addressed to the member itself
(a member ID as recipient); it moves from any other subsystem of the
member. Neither flag removes the declaration.

Example:
   dxl registry subsystem documents --anchor anchor.json --subsystem VN-TEST/GOV/000.00.00.B01/VANTHU \
      --accept quyet-dinh --accept cong-van --member-inbox`,
			Flags: adminFlags(
				&cli.StringFlag{Name: "subsystem", Usage: "subsystem ID INSTANCE/CLASS/CODE/SUBSYSTEM", Required: true},
				&cli.StringSliceFlag{Name: "accept", Usage: "a data `TYPE` it takes (repeatable; none: any)"},
				&cli.BoolFlag{Name: "member-inbox", Usage: "documents addressed to the member go to this subsystem"},
			),
			Action: func(c *cli.Context) error {
				if c.NArg() != 0 {
					return fmt.Errorf("unexpected arguments %q: documents takes only flags", c.Args().Slice())
				}
				return withRegistry(c, true, func(cl *client.Client) error {
					res, err := cl.SetDocuments(c.Context, client.SetDocumentsRequest{Subsystem: c.String("subsystem"),
						Accepts: c.StringSlice("accept"), MemberInbox: c.Bool("member-inbox")})
					if err != nil {
						return err
					}
					return printResult(c, "documents set for", res)
				})
			},
		}},
	}
}
