package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// historyCommand is `dxl registry history`: the replicated, hash-chained
// record of every change, listed, exported and verified offline.
func historyCommand() *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "show, export or verify the hash-chained history of registry changes",
		Description: `Without a subcommand: the most recent entries, oldest first.
Every entry carries the hash of the one before it (prev_hash) and its own
(hash); 'export' saves the whole chain and 'verify' checks a saved export
offline.

Examples:
   dxl registry history --anchor anchor.json --target VN-TEST/GOV/000.00.00.H26 --limit 20
   dxl registry history export --anchor anchor.json --out history.jsonl
   dxl registry history verify history.jsonl`,
		Flags: adminFlags(
			&cli.StringFlag{Name: "target", Usage: "only entries about this request, member, node or service"},
			&cli.IntFlag{Name: "limit", Value: 100, Usage: "at most this many entries (1..10000)"},
		),
		Subcommands: []*cli.Command{historyExportCommand(), historyVerifyCommand()},
		Action: func(c *cli.Context) error {
			return withRegistry(c, true, func(cl *client.Client) error {
				h, err := cl.History(c.Context, c.String("target"), c.Int("limit"))
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return printJSON(c, h)
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "INDEX\tTIME\tACTOR\tACTION\tTARGET\tDETAIL")
				for _, e := range h {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Index, fmtTime(e.Time), e.Actor, e.Action, e.Target, e.Detail)
				}
				return tw.Flush()
			})
		},
	}
}

// historyVerification is what history export and verify report.
type historyVerification struct {
	Verified  bool   `json:"verified"`
	Entries   int    `json:"entries"`
	LastIndex uint64 `json:"last_index"`
	HeadHash  string `json:"head_hash"` // the last entry's hash: pins the whole chain
	File      string `json:"file,omitempty"`
}

func printVerification(c *cli.Context, v historyVerification) error {
	if c.Bool("json") {
		return printJSON(c, v)
	}
	fmt.Fprintf(c.App.Writer, "VERIFIED %d entries, last index %d, head hash %s\n", v.Entries, v.LastIndex, v.HeadHash)
	return nil
}

func historyExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "save the whole history as JSON lines, oldest first (viewer)",
		Description: `Streams GET /v1/admin/history/export. With --out the export goes to a
temporary file beside FILE, is verified and only then renamed into place;
the entry count and head hash are printed (keep the head hash elsewhere to
detect a later export cut short). Without --out it goes to standard output
unverified: pipe it to 'dxl registry history verify -'.

Example:
   dxl registry history export --anchor anchor.json --out history-$(date +%F).jsonl`,
		Flags: adminFlags(
			&cli.StringFlag{Name: "out", Value: "-", Usage: "write the export to `FILE` (- for standard output)", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "overwrite --out"},
		),
		Action: func(c *cli.Context) error {
			out := c.String("out")
			return withRegistry(c, true, func(cl *client.Client) error {
				if out == "-" {
					return cl.ExportHistory(c.Context, c.App.Writer)
				}
				if _, err := os.Stat(out); err == nil && !c.Bool("force") {
					return fmt.Errorf("%s exists (use --force to overwrite)", out)
				}
				tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
				if err != nil {
					return err
				}
				defer os.Remove(tmp.Name()) // after the rename, a no-op
				err = cl.ExportHistory(c.Context, tmp)
				if err == nil {
					err = tmp.Sync()
				}
				if cerr := tmp.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				v, err := verifyHistoryFile(tmp.Name(), nil)
				if err != nil {
					return fmt.Errorf("the exported history does not verify: %w", err)
				}
				if err := os.Chmod(tmp.Name(), 0o644); err != nil {
					return err
				}
				if err := os.Rename(tmp.Name(), out); err != nil {
					return err
				}
				v.File = out
				return printVerification(c, v)
			})
		},
	}
}

func historyVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check a history export offline: every hash and every link of the chain",
		ArgsUsage: "FILE",
		Description: `Needs no registry. FILE is an export from 'dxl registry history export'
(- for standard input). Prints the entry count and the head hash; compare
the head hash with one kept from an earlier export to detect an export cut
short. Fails, naming the entry, where the chain breaks.

Examples:
   dxl registry history verify history.jsonl
   dxl registry history export --anchor anchor.json | dxl registry history verify -`,
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return errors.New("give the export FILE (or - for standard input)")
			}
			v, err := verifyHistoryFile(c.Args().First(), c.App.Reader)
			if err != nil {
				return err
			}
			return printVerification(c, v)
		},
	}
}

// verifyHistoryFile verifies the history export at path ("-": stdin, or
// in when set).
func verifyHistoryFile(path string, in io.Reader) (historyVerification, error) {
	r := in
	if r == nil {
		r = os.Stdin
	}
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return historyVerification{}, err
		}
		defer f.Close()
		r = f
	}
	n, last, err := state.VerifyHistoryExport(r)
	if err != nil {
		return historyVerification{}, fmt.Errorf("%s: %w", path, err)
	}
	return historyVerification{Verified: true, Entries: n, LastIndex: last.Index, HeadHash: last.Hash}, nil
}
