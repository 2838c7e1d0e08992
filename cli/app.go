package cli

import (
	"github.com/urfave/cli/v2"
)

// Version is set at build time with -ldflags "-X github.com/dxl-network/dxl/cli.Version=...".
var Version = "dev"

// App returns the dxl application.
func App() *cli.App {
	return &cli.App{
		Name:    "dxl",
		Usage:   "distributed data exchange layer: agency node, registry, CA and time-stamping authority",
		Version: Version,
		Description: `DXL lets agencies exchange data peer to peer, every message signed and
timestamped. This binary holds every role.

Try a whole network on this machine (registry, CA, TSA, two agency nodes, a
sample backend) and call a service through two nodes with the printed curl:
   dxl demo

Set up an agency node against a real network:
   dxl node init --dir n1 --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26
   dxl node register --dir n1 --form registration.json
   dxl node enroll --dir n1 --wait 24h
   dxl node serve --dir n1`,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error", EnvVars: []string{"DXL_LOG_LEVEL"}},
			&cli.BoolFlag{Name: "log-json", Usage: "write logs as JSON lines", EnvVars: []string{"DXL_LOG_JSON"}},
		},
		Commands: []*cli.Command{demoCommand(), benchCommand(), nodeCommand(), docCommand(), logCommand(), reconcileCommand(), registryCommand(), caCommand(), tsaCommand(), devCommand(), versionCommand()},
	}
}
