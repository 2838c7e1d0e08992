package cli

import (
	"fmt"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node"
)

func reconcileCommand() *cli.Command {
	return &cli.Command{
		Name:  "reconcile",
		Usage: "compare this node's records of the calls with another member against that member's signed summaries",
		Description: `The node asks every node of --member, over libp2p, for a summary of the
calls between the two members in the period, signed with that member's key,
and reports per service and day the calls only one side recorded and those
whose statuses differ (R-L5). At most 32 days per run.

Example:
   dxl reconcile --dir n1 --member VN-TEST/GOV/000.00.00.B01 --from 2026-11-01 --to 2026-12-01`,
		Flags: []cli.Flag{nodeDirFlag(), jsonFlag(),
			&cli.StringFlag{Name: "member", Usage: "the other member, INSTANCE/CLASS/CODE", Required: true},
			&cli.StringFlag{Name: "from", Usage: "start of the period (YYYY-MM-DD or RFC 3339, inclusive)", Required: true},
			&cli.StringFlag{Name: "to", Usage: "end of the period (YYYY-MM-DD or RFC 3339, exclusive)", Required: true}},
		Action: func(c *cli.Context) error {
			from, err := node.ParseTime(c.String("from"))
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			to, err := node.ParseTime(c.String("to"))
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			var rep node.Report
			if err := adminCall(c, http.MethodPost, "/v1/reconcile", map[string]any{"member": c.String("member"), "from": from, "to": to}, &rep); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, rep)
			}
			fmt.Fprintf(c.App.Writer, "%s, %s .. %s: %d calls here, %d there, %d matched\n", rep.Member,
				rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly), rep.Local, rep.Remote, rep.Matched)
			for _, m := range rep.Mismatches {
				fmt.Fprintf(c.App.Writer, "  %s %s: %d only there, %d only here, %d status differences\n",
					m.Day, m.Service, len(m.MissingLocal), len(m.MissingRemote), len(m.StatusDiffers))
			}
			if len(rep.Mismatches) == 0 {
				fmt.Fprintln(c.App.Writer, "  both sides agree")
			}
			for _, f := range rep.Failed {
				fmt.Fprintf(c.App.Writer, "  not asked: %s\n", f)
			}
			return nil
		},
	}
}
