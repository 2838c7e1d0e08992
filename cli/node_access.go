package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/services"
)

// nodeAccessCommand is `dxl node access`: the access rights to the node's
// services, through the running node's admin API (GET/POST/DELETE
// /v1/access): a change is in force for the next call, written to
// node.json and recorded in the audit log.
func nodeAccessCommand() *cli.Command {
	return &cli.Command{
		Name:  "access",
		Usage: "access rights to this node's services: list, grant, revoke (while the node runs)",
		Description: `A right grants a service to a subject: a client subsystem
INSTANCE/CLASS/MEMBER/SUBSYSTEM, a global group of the signed configuration
(global:CODE) or a local group of node.json (local:CODE); optionally only one
endpoint (--method and --path; a path pattern's "*" matches one segment, a
last "**" any rest). The running node checks the whole new configuration,
writes node.json, applies it to the next call and records the change in the
admin audit log; the web console's access page does the same.

Example:
   dxl node access list --dir n1
   dxl node access grant --dir n1 --subject VN-TEST/GOV/000.00.00.H26/HOTICH --service VN-TEST/GOV/000.00.00.B01/DANCU/population
   dxl node access grant --dir n1 --subject global:bo-nganh --service VN-TEST/GOV/000.00.00.B01/DANCU/population --method GET --path '/citizens/*'
   dxl node access revoke --dir n1 --subject global:bo-nganh --service VN-TEST/GOV/000.00.00.B01/DANCU/population --method GET --path '/citizens/*'`,
		Subcommands: []*cli.Command{nodeAccessList(), nodeAccessChange("grant"), nodeAccessChange("revoke")},
	}
}

func nodeAccessList() *cli.Command {
	return &cli.Command{
		Name: "list", Usage: "list the access rights in force",
		Description: "Example:\n   dxl node access list --dir n1 --json",
		Flags:       []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			var a services.AccessConfig
			if err := adminCall(c, http.MethodGet, "/v1/access", nil, &a); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, a)
			}
			return printRules(c, a.Rules)
		},
	}
}

func printRules(c *cli.Context, rules []services.Rule) error {
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tSERVICE\tMETHOD\tPATH")
	for _, r := range rules {
		m, p := r.Method, r.Path
		if m == "" {
			m = "*"
		}
		if p == "" {
			p = "(all endpoints)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Subject, r.Service, m, p)
	}
	return tw.Flush()
}

// nodeAccessChange is `grant` or `revoke` of one rule.
func nodeAccessChange(what string) *cli.Command {
	usage := "grant a service (or one endpoint of it) to a subsystem or group"
	if what == "revoke" {
		usage = "revoke a right, given exactly as it was granted"
	}
	return &cli.Command{
		Name: what, Usage: usage,
		Description: "Example:\n   dxl node access " + what + " --dir n1 --subject VN-TEST/GOV/000.00.00.H26/HOTICH " +
			"--service VN-TEST/GOV/000.00.00.B01/DANCU/population --method GET --path '/citizens/*'",
		Flags: []cli.Flag{nodeDirFlag(),
			&cli.StringFlag{Name: "subject", Usage: "subsystem ID, global:CODE or local:CODE", Required: true},
			&cli.StringFlag{Name: "service", Usage: "service ID (without a version: every version)", Required: true},
			&cli.StringFlag{Name: "method", Usage: "HTTP method (empty: any; needs --path)"},
			&cli.StringFlag{Name: "path", Usage: "path pattern, e.g. /citizens/* (empty: every endpoint)"},
			jsonFlag()},
		Action: func(c *cli.Context) error {
			rule := services.Rule{Subject: c.String("subject"), Service: c.String("service"), Method: c.String("method"), Path: c.String("path")}
			var a services.AccessConfig
			var err error
			if what == "grant" {
				err = adminCall(c, http.MethodPost, "/v1/access", rule, &a)
			} else {
				q := url.Values{"subject": {rule.Subject}, "service": {rule.Service}, "method": {rule.Method}, "path": {rule.Path}}
				err = adminCall(c, http.MethodDelete, "/v1/access?"+q.Encode(), nil, &a)
			}
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, a)
			}
			fmt.Fprintf(c.App.Writer, "%sed: %s → %s; rights in force now:\n", map[string]string{"grant": "grant", "revoke": "revok"}[what],
				rule.Subject, rule.Service)
			return printRules(c, a.Rules)
		},
	}
}
