// Package cli builds the dxl command line (urfave/cli/v2). Each command group
// lives in its own file and returns a *cli.Command; common.go holds the
// plumbing they share (passphrases, JSON output, logging, serving HTTP).
package cli
