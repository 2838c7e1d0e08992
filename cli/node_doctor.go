package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/internal/doctor"
	"github.com/dxl-network/dxl/node"
)

// nodeDoctorCommand checks a node directory and its surroundings.
func nodeDoctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check a node and what it depends on, and say how to fix what is wrong",
		Description: `Checks, whether or not the node is running: node.json; the node-auth,
member-sign and consumer API certificates (days left; a warning under 30
days); that the passphrase opens the keys (so that the node starts again
after a restart); the cached signed global configuration and its age
against the network's maximum; that a registry server answers; that each
TSA of the configuration stamps, its certificate, and this machine's clock
against the TSA's time; for a running node (its admin socket answers) its
health and every peer online or offline, and for a stopped one that its
listening ports are free and its databases are consistent; the free disk
space and the journal. It writes nothing in the node directory.

Each finding is ok, warn or error, and says what to do when it is not ok.
The exit status is non-zero when there is an error.

Examples:
   DXL_PASSPHRASE=... dxl node doctor --dir n1
   dxl node doctor --dir n1 --passphrase-file /etc/dxl/passphrase --json | jq '.findings[] | select(.status != "ok")'`,
		Flags: []cli.Flag{nodeDirFlag(), passphraseFlag("passphrase-file", "the node keys (default: $DXL_PASSPHRASE; without either the keys are not tried)"),
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "give up on each network check after this long"}, jsonFlag()},
		Action: func(c *cli.Context) error {
			var pass []byte
			if c.String("passphrase-file") != "" || os.Getenv(EnvPassphrase) != "" {
				p, err := passphrase(c, "passphrase-file", []string{EnvPassphrase}, "the node keys", false)
				if err != nil {
					return err
				}
				pass = p
			}
			dir := c.String("dir")
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("node directory: %w (give --dir, or create one with dxl node init)", err)
			}
			fmt.Fprintf(c.App.ErrWriter, "Checking the node in %s …\n", dir)
			return printReport(c, node.Doctor(c.Context, dir, node.DoctorOptions{Passphrase: pass, Timeout: c.Duration("timeout")}))
		},
	}
}

// printReport prints r (JSON with --json, else one line per finding and
// the fix under each that is not ok) and fails when r has an error.
func printReport(c *cli.Context, r *doctor.Report) error {
	if c.Bool("json") {
		if err := printJSON(c, r); err != nil {
			return err
		}
	} else {
		printFindings(c, r.Findings)
	}
	if n := r.Errors(); n > 0 {
		return fmt.Errorf("%d of %d checks failed", n, len(r.Findings))
	}
	return nil
}

// openFrom opens --from, "-" being standard input.
func openFrom(c *cli.Context) (io.ReadCloser, error) {
	if p := c.String("from"); p != "-" {
		return os.Open(p)
	}
	return io.NopCloser(os.Stdin), nil
}

func printFindings(c *cli.Context, fs []doctor.Finding) {
	w := c.App.Writer
	for _, f := range fs {
		mark := map[string]string{doctor.OK: "ok   ", doctor.Warn: "WARN ", doctor.Error: "ERROR"}[f.Status]
		fmt.Fprintf(w, "%s %-28s %s\n", mark, f.Check, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(w, "      %-28s → %s\n", "", f.Fix)
		}
	}
}
