package cli

import (
	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node"
)

// nodeSystemCommand is `dxl node system`: the member's information systems.
func nodeSystemCommand() *cli.Command {
	return &cli.Command{
		Name:  "system",
		Usage: "the member's information systems (subsystems) in the registry",
		Subcommands: []*cli.Command{{
			Name:  "add",
			Usage: "ask the registry for another information system of the member (Form 01/02 of that system)",
			Description: `Sends the system's form (the registration form's fields; system.code
becomes the subsystem code) signed with the member's signing key. An
operator approves it in the registration queue (dxl registry request
approve ID, or the registry console); no certificate is issued. With
--wait it follows the request until it is decided. Then give the system a
client certificate with 'dxl node client add' or provide a service from it
with 'dxl node service add'.

Example:
   dxl node system add --dir n1 --form khaisinh.json --wait 72h`,
			Flags: []cli.Flag{nodeDirFlag(), nodePassFlag(), jsonFlag(),
				&cli.StringFlag{Name: "form", Usage: "the system's form `FILE` (JSON, the registration form's shape; - for stdin)", Required: true, TakesFile: true},
				&cli.DurationFlag{Name: "wait", Usage: "follow the request this long while it is pending"}},
			Action: func(c *cli.Context) error { return submitForm(c, node.RequestSystem) },
		}},
	}
}
