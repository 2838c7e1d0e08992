package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/client"
)

// Registry admin commands for the service catalogue, global groups and a
// request's certificates (see registry_admin.go for the connection flags).

// Files written by `dxl registry request certificates`.
const (
	FileNodeCertPEM = "node.pem"     // node-auth certificate and intermediate
	FileSignCertPEM = "sign.pem"     // member-sign certificate and intermediate
	FileCAChainPEM  = "ca-chain.pem" // network CA chain, issuing CA first, root last
)

// requestCertificatesCommand is `dxl registry request certificates`.
func requestCertificatesCommand() *cli.Command {
	return &cli.Command{
		Name:      "certificates",
		Usage:     "fetch an approved request's certificates (no operator token needed)",
		ArgsUsage: "REQUEST-ID",
		Description: `Writes ` + FileNodeCertPEM + ` (the node's auth certificate and the intermediate),
` + FileSignCertPEM + ` (the member's signing certificate and the intermediate) and
` + FileCAChainPEM + ` (the network CA chain, root last) into --out-dir; with --json
prints them instead (and writes files only when --out-dir is given).
A pending or rejected request is refused (not_approved).

Example:
   dxl registry request certificates --anchor anchor.json --out-dir certs 4f0c2a9e6b1d8a73`,
		Flags: publicFlags(
			&cli.StringFlag{Name: "out-dir", Value: ".", Usage: "write the PEM files into `DIR` (created if missing)", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "overwrite existing files"},
		),
		Action: func(c *cli.Context) error {
			id, err := oneArg(c, "request ID")
			if err != nil {
				return err
			}
			return withRegistry(c, false, func(cl *client.Client) error {
				rc, err := cl.RegistrationCertificates(c.Context, id)
				if err != nil {
					return err
				}
				asJSON := c.Bool("json")
				if !asJSON || c.IsSet("out-dir") {
					if err := writeRegistrationCertificates(c, rc); err != nil {
						return err
					}
				}
				if asJSON {
					return printJSON(c, rc)
				}
				return nil
			})
		},
	}
}

func writeRegistrationCertificates(c *cli.Context, rc client.RegistrationCertificates) error {
	dir := c.String("out-dir")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out-dir: %w", err)
	}
	for _, f := range []struct{ name, pem string }{
		{FileNodeCertPEM, rc.NodeCert}, {FileSignCertPEM, rc.SignCert}, {FileCAChainPEM, rc.CAChain},
	} {
		path := filepath.Join(dir, f.name)
		if err := writeOutput(c, path, []byte(f.pem), 0o644, c.Bool("force")); err != nil {
			return err
		}
		if !c.Bool("json") {
			fmt.Fprintf(c.App.Writer, "wrote %s\n", path)
		}
	}
	if !c.Bool("json") {
		fmt.Fprintf(c.App.Writer, "request %s: member %s, node %s\n", rc.RequestID, rc.Member, rc.PeerID)
	}
	return nil
}

// emptySHA256 is the description hash of a service without a description
// (a plain REST service), as a node without an OpenAPI file has it.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// descriptionHash returns --description-sha256, or the SHA-256 (hex) of
// the --description file, or without either that of an empty description.
func descriptionHash(c *cli.Context) (string, error) {
	file, sum := c.String("description"), strings.ToLower(strings.TrimSpace(c.String("description-sha256")))
	switch {
	case file != "" && sum != "":
		return "", errors.New("give one of --description FILE and --description-sha256 HEX, not both")
	case sum != "":
		return sum, nil
	case file == "":
		return emptySHA256, nil
	}
	r, err := openInput(c, file)
	if err != nil {
		return "", fmt.Errorf("--description: %w", err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("--description %s: %w", file, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// registryServiceCommand is `dxl registry service`.
func registryServiceCommand() *cli.Command {
	return &cli.Command{
		Name:  "service",
		Usage: "the service catalogue: publish, deprecate, retire",
		Description: `A service is SUBSYSTEM-ID/CODE[/VERSION], e.g.
VN-TEST/GOV/000.00.00.H26/CITIZEN/lookup/v1. Publishing records the SHA-256 of
its description; deprecation sets a sunset time; retirement is final.

Example:
   dxl registry service publish --anchor anchor.json --subsystem VN-TEST/GOV/000.00.00.H26/CITIZEN \
      --code lookup --version v1 --description openapi.yaml`,
		Subcommands: []*cli.Command{
			{
				Name:  "publish",
				Usage: "publish a subsystem's service, or update a published one's description hash",
				Description: `Give the description file (its SHA-256 is computed here, - for stdin) or
its hash (a plain REST service without a description needs neither), and
the data classification: public, internal (the default for a new service),
secret or top_secret. The member's registration (Form 01) caps it
(classification_above_registration); a top_secret service is only listed —
every node refuses to call or serve it.

The schemas of the service's data type are published with it: give the
request and/or response body schema files (--schema-type json, JSON Schema
2020-12, the default, or xsd) and their SHA-256 goes into the catalogue.
The provider node's schemas for the version must be these files: a node
whose files hash differently refuses calls to the version (schema_mismatch).
An update without schema files keeps the published digests; one with a
file replaces them (a response schema left out is dropped).

Examples:
   dxl registry service publish --anchor anchor.json --subsystem VN-TEST/GOV/000.00.00.H26/CITIZEN \
      --code lookup --version v1 --description openapi.yaml --classification secret
   dxl registry service publish --anchor anchor.json --subsystem VN-TEST/GOV/000.00.00.H26/CITIZEN \
      --code lookup --version v1 --description openapi.yaml \
      --request-schema person-request.json --response-schema person.json`,
				Flags: append(adminFlags(
					&cli.StringFlag{Name: "subsystem", Usage: "subsystem ID INSTANCE/CLASS/CODE/SUBSYSTEM", Required: true},
					&cli.StringFlag{Name: "code", Usage: "service code", Required: true},
					&cli.StringFlag{Name: "version", Usage: "service version (optional)"},
					&cli.StringFlag{Name: "description", Usage: "service description `FILE` to hash (SHA-256; - for stdin); none for a service without one", TakesFile: true},
					&cli.StringFlag{Name: "description-sha256", Usage: "the description's SHA-256 as 64 hex digits, instead of --description"},
					&cli.StringFlag{Name: "classification", Usage: "`LEVEL`: public, internal, secret or top_secret (new service: internal; update: unchanged)"},
				), schemaFlags()...),
				Action: func(c *cli.Context) error {
					if c.NArg() != 0 {
						return fmt.Errorf("unexpected arguments %q: publish takes only flags", c.Args().Slice())
					}
					sum, err := descriptionHash(c)
					if err != nil {
						return err
					}
					req := client.PublishServiceRequest{Subsystem: c.String("subsystem"), Code: c.String("code"),
						Version: c.String("version"), DescriptionSHA256: sum, Classification: c.String("classification")}
					if err := schemaDigests(c, &req); err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						res, err := cl.PublishService(c.Context, req)
						if err != nil {
							return err
						}
						return printResult(c, "published", res)
					})
				},
			},
			{
				Name:        "deprecate",
				Usage:       "deprecate a published service until a sunset time",
				ArgsUsage:   "SERVICE-ID",
				Description: "Example:\n   dxl registry service deprecate --anchor anchor.json --sunset 2026-12-31T00:00:00Z VN-TEST/GOV/000.00.00.H26/CITIZEN/lookup/v1",
				Flags:       adminFlags(&cli.StringFlag{Name: "sunset", Usage: "when the service goes away, RFC 3339 (2026-12-31T00:00:00Z)", Required: true}),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "service ID SUBSYSTEM-ID/CODE[/VERSION]")
					if err != nil {
						return err
					}
					sunset, err := time.Parse(time.RFC3339, c.String("sunset"))
					if err != nil {
						return fmt.Errorf("--sunset %q: want RFC 3339, e.g. 2026-12-31T00:00:00Z", c.String("sunset"))
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						res, err := cl.DeprecateService(c.Context, id, sunset)
						if err != nil {
							return err
						}
						return printResult(c, "deprecated", res)
					})
				},
			},
			{
				Name:        "retire",
				Usage:       "retire a published or deprecated service for good",
				ArgsUsage:   "SERVICE-ID",
				Description: "Example:\n   dxl registry service retire --anchor anchor.json VN-TEST/GOV/000.00.00.H26/CITIZEN/lookup/v1",
				Flags:       adminFlags(),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "service ID SUBSYSTEM-ID/CODE[/VERSION]")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						res, err := cl.RetireService(c.Context, id)
						if err != nil {
							return err
						}
						return printResult(c, "retired", res)
					})
				},
			},
		},
	}
}

// registryGroupCommand is `dxl registry group`.
func registryGroupCommand() *cli.Command {
	return &cli.Command{
		Name:  "group",
		Usage: "global groups of subsystems: set, delete",
		Description: `Example:
   dxl registry group set --anchor anchor.json --description "health data exchange" \
      --member VN-TEST/GOV/000.00.00.H26/CITIZEN --member VN-TEST/GOV/000.00.00.H27/HIS health`,
		Subcommands: []*cli.Command{
			{
				Name:      "set",
				Usage:     "create or replace a global group",
				ArgsUsage: "GROUP-CODE",
				Description: `The members given replace the group's members.

Example:
   dxl registry group set --anchor anchor.json --description "health data exchange" \
      --member VN-TEST/GOV/000.00.00.H26/CITIZEN --member VN-TEST/GOV/000.00.00.H27/HIS health`,
				Flags: adminFlags(
					&cli.StringFlag{Name: "description", Usage: "what the group is for", Required: true},
					&cli.StringSliceFlag{Name: "member", Usage: "member subsystem ID INSTANCE/CLASS/CODE/SUBSYSTEM (repeatable)"},
				),
				Action: func(c *cli.Context) error {
					code, err := oneArg(c, "group code")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						res, err := cl.SetGroup(c.Context, code, c.String("description"), c.StringSlice("member"))
						if err != nil {
							return err
						}
						return printResult(c, "set group", res)
					})
				},
			},
			{
				Name:        "delete",
				Usage:       "delete a global group",
				ArgsUsage:   "GROUP-CODE",
				Description: "Example:\n   dxl registry group delete --anchor anchor.json health",
				Flags:       adminFlags(),
				Action: func(c *cli.Context) error {
					code, err := oneArg(c, "group code")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						res, err := cl.DeleteGroup(c.Context, code)
						if err != nil {
							return err
						}
						return printResult(c, "deleted group", res)
					})
				},
			},
		},
	}
}
