package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/client"
)

func registryNodeCommand() *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "further nodes of an admitted member (replicas for balancing and failover)",
		Subcommands: []*cli.Command{{
			Name:  "add",
			Usage: "issue a node-auth certificate for a further node of an active member and register it",
			Description: `The new node is created with 'dxl node init --sign-from FIRST_NODE_DIR'
(it signs with the member's key); its request is NODE_DIR/node.csr.

Example:
   dxl registry node add --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26 \
       --csr n2/node.csr --addr /ip4/10.1.2.4/tcp/4001 --out n2/node.pem`,
			Flags: adminFlags(
				&cli.StringFlag{Name: "member", Usage: "member ID INSTANCE/CLASS/CODE", Required: true},
				&cli.StringFlag{Name: "csr", Usage: "PKCS#10 request `FILE` of the node's auth key (PEM or DER)", Required: true, TakesFile: true},
				&cli.StringSliceFlag{Name: "addr", Usage: "the node's libp2p `MULTIADDR` (repeatable)"},
				&cli.StringFlag{Name: "out", Usage: "write the node-auth certificate chain (PEM) to `FILE`", TakesFile: true},
				&cli.BoolFlag{Name: "force", Usage: "overwrite --out"}),
			Action: func(c *cli.Context) error {
				csr, err := loadCSR(c, "csr")
				if err != nil {
					return err
				}
				return withRegistry(c, true, func(cl *client.Client) error {
					res, err := cl.AddNode(c.Context, c.String("member"), csr, c.StringSlice("addr"))
					if err != nil {
						return err
					}
					if out := c.String("out"); out != "" {
						if err := writeOutput(c, out, []byte(res.NodeCert), 0o644, c.Bool("force")); err != nil {
							return err
						}
					}
					if c.Bool("json") {
						return printJSON(c, res)
					}
					fmt.Fprintf(c.App.Writer, "node %s added to %s (certificate serial %s, index %d)\n", res.PeerID, res.Member, res.NodeSerial, res.Index)
					return nil
				})
			},
		}},
	}
}
