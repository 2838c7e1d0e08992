package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/provider"
)

// nodeServiceCommand is `dxl node service`: the services this node provides.
func nodeServiceCommand() *cli.Command {
	return &cli.Command{
		Name:  "service",
		Usage: "the services this node provides to other members",
		Subcommands: []*cli.Command{{
			Name:  "add",
			Usage: "provide a service version from the agency's own backend, and grant it to consumers (node.json, no hand edits)",
			Description: `Adds the version to node.json: its backend URL, an optional OpenAPI
description (a plain REST service needs none) and an access rule for each
--grant (a consumer subsystem, global:GROUP or local:GROUP, every endpoint).
The whole configuration is checked before it is written. It prints the
command the registry operator runs to publish the service in the catalogue;
restart the node to serve it.

Examples:
   dxl node service add --dir n1 --subsystem VN-TEST/GOV/000.00.00.B01/DANCU --code population \
       --version v1 --backend http://10.0.0.5:8080/api --grant VN-TEST/GOV/000.00.00.A01/TUPHAP
   dxl node service add --dir n1 --subsystem VN-TEST/GOV/000.00.00.B01/DANCU --code lookup \
       --backend https://10.0.0.5:8443 --openapi lookup.yaml --json
   dxl node service add --dir n1 --subsystem VN-TEST/GOV/000.00.00.B01/DANCU --code person \
       --version v1 --backend http://10.0.0.5:8080/person --request-schema person-request.json \
       --response-schema person.json --validate-responses

With --request-schema or --response-schema the node checks bodies against the
data type's schema (JSON Schema 2020-12, or XSD with --schema-type xsd); the
publish command it prints names the same files, so the catalogue carries
their digests (send them to the operator).`,
			Flags: []cli.Flag{nodeDirFlag(), jsonFlag(),
				&cli.StringFlag{Name: "subsystem", Usage: "the providing subsystem INSTANCE/CLASS/MEMBER/SUBSYSTEM", Required: true},
				&cli.StringFlag{Name: "code", Usage: "the service code", Required: true},
				&cli.StringFlag{Name: "version", Usage: "the version (none: unversioned)"},
				&cli.StringFlag{Name: "backend", Usage: "the backend's http(s) `URL`; the call path is appended", Required: true},
				&cli.StringFlag{Name: "openapi", Usage: "an OpenAPI 3 description `FILE` (optional)", TakesFile: true},
				&cli.DurationFlag{Name: "timeout", Usage: "bound one backend call", DefaultText: "30s"},
				&cli.StringSliceFlag{Name: "grant", Usage: "a `SUBJECT` allowed every endpoint (repeatable)"},
				&cli.StringFlag{Name: "request-schema", Usage: "the schema `FILE` request bodies must match (optional)", TakesFile: true},
				&cli.StringFlag{Name: "response-schema", Usage: "the schema `FILE` of response bodies (optional)", TakesFile: true},
				&cli.StringFlag{Name: "schema-type", Usage: "json (JSON Schema 2020-12) or xsd", Value: "json"},
				&cli.BoolFlag{Name: "validate-responses", Usage: "check the backend's answers against --response-schema before they are signed"}},
			Action: nodeServiceAdd,
		}},
	}
}

func nodeServiceAdd(c *cli.Context) error {
	spec := node.ServiceSpec{Subsystem: c.String("subsystem"), Code: c.String("code"),
		Version: c.String("version"), BackendURL: c.String("backend"), OpenAPIFile: c.String("openapi"),
		Timeout: c.Duration("timeout"), Grants: c.StringSlice("grant")}
	if c.String("request-schema") != "" || c.String("response-schema") != "" || c.Bool("validate-responses") {
		spec.Schemas = &provider.SchemaConfig{Type: c.String("schema-type"), Request: c.String("request-schema"),
			Response: c.String("response-schema"), ValidateResponses: c.Bool("validate-responses")}
	}
	added, err := node.AddService(c.String("dir"), spec)
	if err != nil {
		return err
	}
	publish := "dxl registry service publish --anchor anchor.json --subsystem " + c.String("subsystem") + " --code " + c.String("code")
	if v := c.String("version"); v != "" {
		publish += " --version " + v
	}
	if added.DescriptionSHA256 != "" {
		publish += " --description-sha256 " + added.DescriptionSHA256
	}
	for _, f := range []string{"request-schema", "response-schema"} {
		if v := c.String(f); v != "" {
			publish += " --" + f + " " + v
		}
	}
	if spec.Schemas != nil && spec.Schemas.Type == "xsd" {
		publish += " --schema-type xsd"
	}
	if c.Bool("json") {
		return printJSON(c, struct {
			*node.ServiceAdded
			Publish string `json:"publish_command"`
		}{added, publish})
	}
	fmt.Fprintf(c.App.Writer, "added %s → %s to %s/node.json", added.Service, added.BackendURL, c.String("dir"))
	if len(added.Grants) > 0 {
		fmt.Fprintf(c.App.Writer, ", granted to %s", strings.Join(added.Grants, ", "))
	}
	fmt.Fprintf(c.App.Writer, "\nthe registry operator publishes it in the catalogue:\n   %s\nrestart the node to serve it (dxl node serve --dir %s)\n", publish, c.String("dir"))
	return nil
}
