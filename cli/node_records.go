package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/audit"
)

// nodeRecordsCommand lists and exports operational records.
func nodeRecordsCommand() *cli.Command {
	str := func(name, usage string) cli.Flag { return &cli.StringFlag{Name: name, Usage: usage} }
	return &cli.Command{
		Name:  "records",
		Usage: "operational records (metadata of every call), statistics and health history",
		Description: `Examples:
   dxl node records list --dir n1 --from 2026-11-01 --service VN-TEST/GOV/000.00.00.B01/DANCU/population --format csv > calls.csv
   dxl node records stats --dir n1 --from 2026-11-01 --to 2026-12-01
   dxl node records report --dir n1 --from 2026-11-01 --to 2026-12-01 --format csv > report-2026-11.csv
   dxl node records health --dir n1 --service VN-TEST/GOV/000.00.00.B01/DANCU/population`,
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "records matching filters, a page at a time (--cursor for the next)",
				Flags: []cli.Flag{nodeDirFlag(), str("from", "from (YYYY-MM-DD or RFC 3339)"), str("to", "to, exclusive"),
					str("role", "consumer or provider (calls), sender or recipient (deliveries)"), str("client", "client subsystem ID"), str("service", "service ID"),
					str("client-member", "client's member"), str("provider-member", "provider's member"), str("error-code", "exchange error code"),
					str("status", "HTTP status"), str("limit", "records per page (default 100, max 10000)"), str("cursor", "from a previous page"),
					&cli.StringFlag{Name: "format", Value: "json", Usage: "json or csv"}},
				Action: func(c *cli.Context) error {
					q := url.Values{}
					for _, f := range []string{"from", "to", "role", "client", "service", "client-member", "provider-member", "error-code", "status", "limit", "cursor", "format"} {
						if v := c.String(f); v != "" {
							q.Set(strings.ReplaceAll(f, "-", "_"), v)
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
			{Name: "report", Usage: "calls, successes, failures and their causes per day, role and service (JSON or CSV), e.g. a monthly report",
				Flags: []cli.Flag{nodeDirFlag(), str("from", "from (YYYY-MM-DD)"), str("to", "to, exclusive"),
					&cli.StringFlag{Name: "format", Value: "json", Usage: "json or csv"}},
				Action: func(c *cli.Context) error {
					q := url.Values{"from": {c.String("from")}, "to": {c.String("to")}, "format": {c.String("format")}}
					raw, err := adminGet(c, "/v1/report?"+q.Encode())
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
