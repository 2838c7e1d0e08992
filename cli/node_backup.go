package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node"
)

// nodeBackupCommand takes a backup of the running node.
func nodeBackupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "write a consistent backup of the running node (databases, keys, configuration) to a file",
		Description: `The running node commits its logs, then streams a tar archive over its
admin socket: every file of the node directory (keys as they are on disk,
sealed with the node's passphrase), a consistent snapshot of node.db,
messages.db and records.db taken while it serves, and a manifest with
each file's SHA-256. Calls go on meanwhile. The archive holds the sealed
keys and the operational records' metadata in clear: keep it like the
node directory. Restore it with 'dxl node restore'.

Examples:
   dxl node backup --dir n1 --out n1-$(date +%F).tar
   dxl node backup --dir n1 --out - | ssh backup-host 'cat > n1.tar'`,
		Flags: []cli.Flag{nodeDirFlag(), &cli.StringFlag{Name: "out", Usage: "write the archive to `FILE` (- for stdout)", Required: true}, jsonFlag()},
		Action: func(c *cli.Context) error {
			ctx, cancel := context.WithTimeout(c.Context, 24*time.Hour)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://node/v1/backup", nil)
			if err != nil {
				return err
			}
			cl := node.AdminClient(c.String("dir"))
			cl.Timeout = 0 // a large node takes long; the context bounds it
			resp, err := cl.Do(req)
			if err != nil {
				return fmt.Errorf("node admin socket in %s: %w (is 'dxl node serve' running?)", c.String("dir"), err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return errors.New("node backup: " + resp.Status)
			}
			var n int64
			err = writeAtomically(c, c.String("out"), func(w io.Writer) (err error) { n, err = io.Copy(w, resp.Body); return err })
			if err != nil {
				return fmt.Errorf("backup cut short, nothing written to %s: %w", c.String("out"), err)
			}
			if c.Bool("json") {
				return printJSON(c, map[string]any{"out": c.String("out"), "bytes": n})
			}
			fmt.Fprintf(c.App.ErrWriter, "Backup of %s: %d bytes in %s. Restore: dxl node restore --from %s --dir NEWDIR\n", c.String("dir"), n, c.String("out"), c.String("out"))
			return nil
		},
	}
}

// writeAtomically has fill write path through path.partial, renamed only
// once fill returned nil; "-" writes to stdout.
func writeAtomically(c *cli.Context, path string, fill func(io.Writer) error) error {
	if path == "-" {
		return fill(c.App.Writer)
	}
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// nodeRestoreCommand unpacks a backup into a new node directory.
func nodeRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "restore a node backup into a new directory",
		Description: `Unpacks an archive of 'dxl node backup' into --dir, which must not exist
or be empty, and checks every file against the archive's manifest; a cut
or damaged archive is refused and nothing is left behind. Start the node on
the directory afterwards: it is the same node (peer ID, keys, pinned
clients, credentials) and continues its message log's hash chain. Stop the
old node first: two nodes with one identity must not run at once.

Examples:
   dxl node restore --from n1-2026-12-07.tar --dir /srv/dxl/n1
   DXL_PASSPHRASE=... dxl node serve --dir /srv/dxl/n1`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "from", Usage: "the backup `FILE` (- for stdin)", Required: true},
			&cli.StringFlag{Name: "dir", Usage: "the new node directory", Required: true}, jsonFlag()},
		Action: func(c *cli.Context) error {
			in, err := openFrom(c)
			if err != nil {
				return err
			}
			defer in.Close()
			start := time.Now()
			m, info, err := node.Restore(in, c.String("dir"))
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, m)
			}
			fmt.Fprintf(c.App.Writer, "Restored node %s of %s (%d files, message log through record %d, backup of %s) into %s in %s.\nStart it: dxl node serve --dir %s\n",
				info.PeerID, info.Member, len(m.Files), info.MessageLogSeq, m.Created.Format(time.RFC3339), c.String("dir"), time.Since(start).Round(time.Millisecond), c.String("dir"))
			return nil
		},
	}
}
