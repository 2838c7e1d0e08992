package cli

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// ---- signed global configuration ----

// configSummary is the --json output of the config commands.
type configSummary struct {
	Verified        bool                     `json:"verified"`
	Source          string                   `json:"source"`
	Version         uint64                   `json:"version"`
	Instance        string                   `json:"instance"`
	IssuedAt        time.Time                `json:"issued_at"`
	ExpiresAt       time.Time                `json:"expires_at"`
	AgeSeconds      int64                    `json:"age_seconds"`
	Expired         bool                     `json:"expired"`
	Signer          string                   `json:"signer"`
	SignerSHA256    string                   `json:"signer_sha256"`
	RegistryServers []string                 `json:"registry_servers"`
	Members         []globalconf.Member      `json:"members"`
	Nodes           int                      `json:"nodes"`
	Subsystems      int                      `json:"subsystems"`
	Services        int                      `json:"services"`
	Revoked         []globalconf.RevokedCert `json:"revoked"`
}

// parseSigned reads a signed configuration without verifying it.
func parseSigned(raw []byte) (*globalconf.Document, *x509.Certificate, error) {
	var s globalconf.Signed
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", globalconf.ErrMalformed, err)
	}
	doc, err := globalconf.ParseDocument(s.Config)
	if err != nil {
		return nil, nil, err
	}
	signer, err := x509.ParseCertificate(s.Certificate)
	if err != nil {
		return doc, nil, fmt.Errorf("%w: signer certificate: %v", globalconf.ErrMalformed, err)
	}
	return doc, signer, nil
}

func printConfig(c *cli.Context, source string, raw []byte, verified bool) error {
	doc, signer, err := parseSigned(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	now := time.Now()
	s := configSummary{Verified: verified, Source: source, Version: doc.Version, Instance: doc.Instance,
		IssuedAt: doc.IssuedAt, ExpiresAt: doc.ExpiresAt, AgeSeconds: int64(doc.Age(now) / time.Second), Expired: doc.Expired(now),
		Signer: signer.Subject.String(), SignerSHA256: ca.Fingerprint(signer), RegistryServers: []string{},
		Members: doc.Members, Nodes: len(doc.Nodes), Subsystems: len(doc.Subsystems), Services: len(doc.Services), Revoked: doc.Revoked}
	for _, r := range doc.RegistryServers {
		s.RegistryServers = append(s.RegistryServers, r.URL)
	}
	if c.Bool("json") {
		return printJSON(c, s)
	}
	w := c.App.Writer
	trust := "VERIFIED against the anchor"
	if !verified {
		trust = "NOT VERIFIED (use 'dxl registry config verify' with the anchor)"
	}
	expired := ""
	if s.Expired {
		expired = "  EXPIRED"
	}
	fmt.Fprintf(w, "source:     %s\nsignature:  %s\nsigner:     %s\n            sha256 %s\n", source, trust, s.Signer, s.SignerSHA256)
	fmt.Fprintf(w, "instance:   %s\nversion:    %d\nissued:     %s (age %s)\nexpires:    %s%s\n",
		s.Instance, s.Version, fmtTime(s.IssuedAt), doc.Age(now).Round(time.Second), fmtTime(s.ExpiresAt), expired)
	fmt.Fprintf(w, "servers:    %s\ncounts:     %d members, %d subsystems, %d nodes, %d services, %d revoked serials\n",
		strings.Join(s.RegistryServers, " "), len(doc.Members), s.Subsystems, s.Nodes, s.Services, len(doc.Revoked))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(doc.Members) > 0 {
		fmt.Fprintln(tw, "\nMEMBER\tSTATUS\tNAME")
		for _, m := range doc.Members {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.ID, m.Status, m.Name)
		}
	}
	if len(doc.Revoked) > 0 {
		fmt.Fprintln(tw, "\nREVOKED SERIAL\tREASON\tREVOKED AT")
		for _, r := range doc.Revoked {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Serial, r.Reason, fmtTime(r.RevokedAt))
		}
	}
	return tw.Flush()
}

func configCommand() *cli.Command {
	needAnchor := func(c *cli.Context) (*globalconf.Anchor, error) {
		a, err := loadAnchor(c)
		if err == nil && a == nil {
			err = errors.New("missing --anchor anchor.json: the configuration is verified against it")
		}
		return a, err
	}
	return &cli.Command{
		Name:  "config",
		Usage: "signed global configuration: fetch, show, verify",
		Description: `Every registry server serves the configuration signed with the registry's
config key at GET /v1/global-config. 'fetch' and 'verify' check it against
an anchor file exactly as a node does; 'show' only reads it.`,
		Subcommands: []*cli.Command{
			{
				Name:  "fetch",
				Usage: "fetch the configuration from a registry server and verify it",
				Description: `Tries the servers in --registry (default: the anchor's and those the
configuration lists) until one gives a configuration that verifies.

Example:
   dxl registry config fetch --anchor anchor.json --out global-config.json`,
				Flags: []cli.Flag{
					registryFlag(), anchorFlag(), jsonFlag(),
					&cli.StringFlag{Name: "out", Usage: "also write the signed configuration to `FILE`", TakesFile: true},
					&cli.BoolFlag{Name: "force", Usage: "overwrite --out"},
				},
				Action: func(c *cli.Context) error {
					anchor, err := needAnchor(c)
					if err != nil {
						return err
					}
					if reg := c.String("registry"); reg != "" {
						a := *anchor
						a.Servers = nil
						for _, u := range strings.Split(reg, ",") {
							if u = strings.TrimSpace(u); u != "" {
								a.Servers = append(a.Servers, u)
							}
						}
						anchor = &a
					}
					gc, err := globalconf.NewClient(anchor, "", globalconf.WithLogger(logger(c)))
					if err != nil {
						return err
					}
					defer gc.Close()
					if _, err := gc.Fetch(c.Context); err != nil {
						return err
					}
					raw := gc.Signed()
					if out := c.String("out"); out != "" {
						if err := writeOutput(c, out, raw, 0o644, c.Bool("force")); err != nil {
							return err
						}
					}
					return printConfig(c, "registry", raw, true)
				},
			},
			{
				Name:        "show",
				Usage:       "summarise a signed configuration file without checking it",
				ArgsUsage:   "FILE",
				Description: "Example:\n   dxl registry config show global-config.json",
				Flags:       []cli.Flag{jsonFlag()},
				Action: func(c *cli.Context) error {
					path, err := oneArg(c, "signed configuration file")
					if err != nil {
						return err
					}
					raw, err := readInput(c, path, globalconf.MaxSignedSize)
					if err != nil {
						return err
					}
					return printConfig(c, path, raw, false)
				},
			},
			{
				Name:      "verify",
				Usage:     "verify a signed configuration file against an anchor",
				ArgsUsage: "FILE",
				Description: `Checks the signer against the anchor, the signature, the canonical
encoding, the instance and the signer's chain to the CA root; exits non-zero
with the reason otherwise. An expired configuration verifies (nodes keep
using it up to the policy's maximum age) and is reported as expired.

Example:
   dxl registry config verify --anchor anchor.json global-config.json`,
				Flags: []cli.Flag{anchorFlag(), jsonFlag()},
				Action: func(c *cli.Context) error {
					path, err := oneArg(c, "signed configuration file")
					if err != nil {
						return err
					}
					anchor, err := needAnchor(c)
					if err != nil {
						return err
					}
					raw, err := readInput(c, path, globalconf.MaxSignedSize)
					if err != nil {
						return err
					}
					if _, err := globalconf.Verify(raw, anchor, time.Now()); err != nil {
						if c.Bool("json") {
							printJSON(c, map[string]any{"verified": false, "source": path, "code": globalconf.Codes.Code(err), "error": err.Error()})
						}
						return fmt.Errorf("%s does not verify: %w", path, err)
					}
					return printConfig(c, path, raw, true)
				},
			},
		},
	}
}
