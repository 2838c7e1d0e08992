package cli

import (
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/audit"
	"github.com/dxl-network/dxl/node"
)

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

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
			from, err := parseWhen(c.String("from"))
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			to, err := parseWhen(c.String("to"))
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

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// nodeRecordsCommand lists and exports operational records.
func nodeRecordsCommand() *cli.Command {
	str := func(name, usage string) cli.Flag { return &cli.StringFlag{Name: name, Usage: usage} }
	return &cli.Command{
		Name:  "records",
		Usage: "operational records (metadata of every call), statistics and health history",
		Description: `Examples:
   dxl node records list --dir n1 --from 2026-11-01 --service VN-TEST/GOV/000.00.00.B01/DANCU/population --format csv > calls.csv
   dxl node records stats --dir n1 --from 2026-11-01 --to 2026-12-01
   dxl node records health --dir n1 --service VN-TEST/GOV/000.00.00.B01/DANCU/population`,
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "records matching filters, a page at a time (--cursor for the next)",
				Flags: []cli.Flag{nodeDirFlag(), str("from", "from (YYYY-MM-DD or RFC 3339)"), str("to", "to, exclusive"),
					str("role", "consumer or provider"), str("client", "client subsystem ID"), str("service", "service ID"),
					str("client-member", "client's member"), str("provider-member", "provider's member"), str("error-code", "exchange error code"),
					str("status", "HTTP status"), str("limit", "records per page (default 100, max 10000)"), str("cursor", "from a previous page"),
					&cli.StringFlag{Name: "format", Value: "json", Usage: "json or csv"}},
				Action: func(c *cli.Context) error {
					q := url.Values{}
					for _, f := range []string{"from", "to", "role", "client", "service", "client-member", "provider-member", "error-code", "status", "limit", "cursor", "format"} {
						if v := c.String(f); v != "" {
							q.Set(underscore(f), v)
						}
					}
					raw, hdr, err := adminDo(c, http.MethodGet, "/v1/records?"+q.Encode(), nil)
					if err != nil {
						return err
					}
					if next := hdr.Get("X-Next-Cursor"); next != "" {
						fmt.Fprintf(c.App.ErrWriter, "more records: --cursor %s\n", next)
					}
					_, err = c.App.Writer.Write(raw)
					return err
				}},
			{Name: "stats", Usage: "calls made and served per member per day (JSON)",
				Flags: []cli.Flag{nodeDirFlag(), str("from", "from (YYYY-MM-DD)"), str("to", "to, exclusive")},
				Action: func(c *cli.Context) error {
					raw, err := adminGet(c, "/v1/stats?"+url.Values{"from": {c.String("from")}, "to": {c.String("to")}}.Encode())
					if err == nil {
						_, err = c.App.Writer.Write(raw)
					}
					return err
				}},
			{Name: "health", Usage: "level-2 health history of a provided service (JSON)",
				Flags: []cli.Flag{nodeDirFlag(), &cli.StringFlag{Name: "service", Usage: "service ID", Required: true},
					str("from", "from"), str("to", "to"), str("limit", "samples")},
				Action: func(c *cli.Context) error {
					q := url.Values{"service": {c.String("service")}, "from": {c.String("from")}, "to": {c.String("to")}, "limit": {c.String("limit")}}
					raw, err := adminGet(c, "/v1/health/history?"+q.Encode())
					if err == nil {
						_, err = c.App.Writer.Write(raw)
					}
					return err
				}},
			{Name: "audit", Usage: "the node's hash-chained admin audit log (JSON lines); --verify FILE checks an export offline",
				Flags: []cli.Flag{nodeDirFlag(), &cli.StringFlag{Name: "verify", Usage: "verify the chain of an exported `FILE` instead", TakesFile: true}},
				Action: func(c *cli.Context) error {
					if f := c.String("verify"); f != "" {
						in, err := openInput(c, f)
						if err != nil {
							return err
						}
						defer in.Close()
						k, err := audit.Verify(in)
						if err != nil {
							return fmt.Errorf("NOT VERIFIED: %w", err)
						}
						fmt.Fprintf(c.App.Writer, "VERIFIED %d audit entries\n", k)
						return nil
					}
					raw, err := adminGet(c, "/v1/audit")
					if err == nil {
						_, err = c.App.Writer.Write(raw)
					}
					return err
				}},
		},
	}
}

func underscore(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}
