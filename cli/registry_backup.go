package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/client"
)

// registryBackupCommand takes a backup of a registry server.
func registryBackupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "write a backup of a registry server (a Raft snapshot and its keys) to a file (admin)",
		Description: `Asks a registry server (the first of --registry, the anchor's or --dir's
servers that answers) for a backup: a Raft snapshot of the replicated state
taken at once, and the server's directory (registry.json, the sealed server,
config-signing and CA keys, certificates) without its Raft log, its CA
certificate database (filled again from the state) and its TSA directory (a
TSA must never reuse a serial number: back R/tsa up on its own, stopped).
The registry keeps serving meanwhile. Keep the archive like the server
directory: it holds the sealed keys. Restore it with 'dxl registry restore'.

Example:
   dxl registry backup --dir r1 --token-file admin.token --out r1-$(date +%F).tar`,
		Flags: adminFlags(&cli.StringFlag{Name: "out", Usage: "write the archive to `FILE` (- for stdout)", Required: true}),
		Action: func(c *cli.Context) error {
			return withRegistry(c, true, func(cl *client.Client) error {
				if err := writeAtomically(c, c.String("out"), func(w io.Writer) error { return cl.Backup(c.Context, w) }); err != nil {
					return fmt.Errorf("backup cut short, nothing written to %s: %w", c.String("out"), err)
				}
				fmt.Fprintf(c.App.ErrWriter, "Registry backup in %s. Restore: dxl registry restore --from %s --dir NEWDIR\n", c.String("out"), c.String("out"))
				return nil
			})
		},
	}
}

// registryRestoreCommand rebuilds a registry server from a backup.
func registryRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "rebuild a registry server from a backup, as a cluster of one",
		Description: `Unpacks an archive of 'dxl registry backup' into --dir (which must not
exist or be empty), checks every file, installs the Raft snapshot as the
server's only state and writes R/raft/peers.json naming this server alone.
Started with 'dxl registry serve', it recovers as a one-server cluster with
the state of the backup (changes committed after it are lost), on the
server's addresses in registry.json; add the other servers again with join
tokens. A cut or damaged archive is refused and nothing is left behind.

Examples:
   dxl registry restore --from r1-2026-12-07.tar --dir /srv/dxl/r1
   DXL_PASSPHRASE=... dxl registry serve --dir /srv/dxl/r1`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "from", Usage: "the backup `FILE` (- for stdin)", Required: true},
			&cli.StringFlag{Name: "dir", Usage: "the new registry server directory", Required: true}, jsonFlag()},
		Action: func(c *cli.Context) error {
			in, err := openFrom(c)
			if err != nil {
				return err
			}
			defer in.Close()
			start := time.Now()
			m, info, err := membership.RestoreRegistry(in, c.String("dir"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, m)
			}
			fmt.Fprintf(c.App.Writer, "Restored registry server %s of %s (Raft index %d, %d files, backup of %s) into %s in %s.\nStart it: dxl registry serve --dir %s\n",
				info.ID, info.Instance, info.RaftIndex, len(m.Files), m.Created.Format(time.RFC3339), c.String("dir"), time.Since(start).Round(time.Millisecond), c.String("dir"))
			return nil
		},
	}
}
