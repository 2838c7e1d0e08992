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
		Usage:   "distributed data exchange layer: CA, time-stamping authority and registry (node to come)",
		Version: Version,
		Description: `DXL lets agencies exchange data peer to peer, every message signed and
timestamped. This binary holds every role.

Getting started (a CA and a TSA on this machine):
   export DXL_PASSPHRASE=change-me
   dxl ca init --dir ./ca --instance VN-TEST
   dxl tsa init --dir ./tsa --ca-dir ./ca
   dxl ca serve --dir ./ca --listen 127.0.0.1:8081 &
   dxl tsa serve --dir ./tsa --listen 127.0.0.1:8080 &
   dxl tsa stamp --url http://127.0.0.1:8080/ README.md
   dxl tsa verify README.md README.md.tsr --root ./ca/root.pem`,
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error", EnvVars: []string{"DXL_LOG_LEVEL"}},
			&cli.BoolFlag{Name: "log-json", Usage: "write logs as JSON lines", EnvVars: []string{"DXL_LOG_JSON"}},
		},
		Commands: []*cli.Command{demoCommand(), nodeCommand(), registryCommand(), caCommand(), tsaCommand(), devCommand()},
	}
}
