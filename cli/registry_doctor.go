package cli

import (
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership"
)

// registryDoctorCommand checks a registry server's directory.
func registryDoctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "check a registry server and say how to fix what is wrong",
		Description: `Checks, whether or not the server is running: registry.json; the server,
config-signing, CA root and intermediate (and TSA) certificates, with days
left (a warning under 30 days); that the passphrase opens the sealed keys;
whether the server answers on its API; for a stopped server its listening
ports and the consistency of its Raft and CA databases; the free disk
space. It writes nothing in the directory. The exit status is non-zero
when there is an error.

Examples:
   DXL_PASSPHRASE=... dxl registry doctor --dir r1
   dxl registry doctor --dir r1 --json`,
		Flags: []cli.Flag{regDirFlag(), regPassFlag(), jsonFlag(),
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "give up on each network check after this long"}},
		Action: func(c *cli.Context) error {
			var pass []byte
			if c.String("passphrase-file") != "" || os.Getenv(EnvPassphrase) != "" {
				p, err := regPass(c, false)
				if err != nil {
					return err
				}
				pass = p
			}
			dir := c.String("dir")
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("registry server directory: %w (give --dir)", err)
			}
			return printReport(c, membership.Doctor(c.Context, dir, membership.DoctorOptions{Passphrase: pass, Timeout: c.Duration("timeout")}))
		},
	}
}
