package cli

import (
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node/msglog"
)

func logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "the node's message log: evidence bundles, offline verification, chain checks",
		Description: `Every exchange a node takes part in is in its message log: both signed
envelopes, hash-chained, time-stamped in Merkle batches by the network's TSA.
An evidence bundle proves one exchange to a third party, offline
(docs/evidence.md).

Example:
   dxl log export --dir n1 --request-id 25c53b44-844c-4948-a6f5-e480117ef269 --out call.evidence.json
   dxl log verify call.evidence.json --root root.pem --tsr-out call.tsr`,
		Subcommands: []*cli.Command{logExportCommand(), logVerifyCommand(), logBodyCommand(), logStatsCommand(), logVerifyChainCommand()},
	}
}

func logExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the evidence bundle of one exchange (through the running node's admin socket)",
		Flags: []cli.Flag{nodeDirFlag(),
			&cli.StringFlag{Name: "request-id", Usage: "the exchange's X-Request-ID", Required: true},
			&cli.StringFlag{Name: "out", Value: "-", Usage: "write the bundle to `FILE`", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "overwrite --out"}},
		Action: func(c *cli.Context) error {
			raw, err := adminGet(c, "/v1/log/evidence?request_id="+url.QueryEscape(c.String("request-id")))
			if err != nil {
				return err
			}
			if _, err := msglog.ReadBundle(raw); err != nil {
				return fmt.Errorf("the node returned an unreadable bundle: %w", err)
			}
			return writeOutput(c, c.String("out"), raw, 0o644, c.Bool("force"))
		},
	}
}

func logVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify an evidence bundle offline against the network CA root",
		ArgsUsage: "BUNDLE",
		Description: `Checks the record's hash, both envelopes' signatures and certificates (at
their signing time), the response's binding to the request, the record's
inclusion in the time-stamped Merkle root and the RFC 3161 token over that
root. --tsr-out also writes the token and prints the OpenSSL command that
checks it independently.

Example:
   dxl log verify call.evidence.json --root root.pem --tsr-out call.tsr`,
		Flags: []cli.Flag{jsonFlag(),
			&cli.StringFlag{Name: "root", Usage: "network CA root certificate `FILE` (PEM; required)", TakesFile: true},
			&cli.StringFlag{Name: "tsr-out", Usage: "write the time-stamp token (DER TimeStampResp) to `FILE`", TakesFile: true}},
		Action: func(c *cli.Context) error {
			// Flags may also follow the file: dxl log verify FILE --root ROOT.
			path, err := argThenFlags(c, "bundle file")
			if err != nil {
				return err
			}
			if c.String("root") == "" {
				return errors.New("--root FILE (the network CA root) is required")
			}
			raw, err := readInput(c, path, msglog.MaxBundle)
			if err != nil {
				return err
			}
			b, err := msglog.ReadBundle(raw)
			if err != nil {
				return err
			}
			rootPEM, err := os.ReadFile(c.String("root"))
			if err != nil {
				return err
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(rootPEM) {
				return fmt.Errorf("%s: no PEM certificate", c.String("root"))
			}
			v, err := msglog.VerifyBundle(b, roots)
			if err != nil {
				return fmt.Errorf("NOT VERIFIED: %w", err)
			}
			if out := c.String("tsr-out"); out != "" {
				if err := writeOutput(c, out, b.Token, 0o644, true); err != nil {
					return err
				}
				inter := strings.TrimSuffix(out, filepath.Ext(out)) + ".chain.pem"
				var chain []byte
				for _, der := range b.CAChain[:max(len(b.CAChain)-1, 0)] {
					chain = append(chain, pemCert(der)...)
				}
				if err := writeOutput(c, inter, chain, 0o644, true); err != nil {
					return err
				}
				fmt.Fprintf(c.App.ErrWriter, "check the token with OpenSSL:\n  openssl ts -verify -digest %s -in %s -CAfile %s -untrusted %s\n",
					hex.EncodeToString(b.MerkleRoot), out, c.String("root"), inter)
			}
			if c.Bool("json") {
				return printJSON(c, v)
			}
			fmt.Fprintf(c.App.Writer, "VERIFIED request %s\n  client   %s (signed by %s at %s)\n  service  %s (answered %d, signed by %s at %s)\n  call     %s %s\n  time-stamped at %s\n",
				v.RequestID, v.Client, v.Signer, v.RequestTime.Format(time.RFC3339Nano), v.Service, v.Status, v.Responder,
				v.ResponseTime.Format(time.RFC3339Nano), v.Method, v.Path, v.StampTime.Format(time.RFC3339))
			for _, h := range v.RequestHeaders {
				fmt.Fprintf(c.App.Writer, "  > %s: %s\n", h.Name, h.Value)
			}
			for _, h := range v.ResponseHeaders {
				fmt.Fprintf(c.App.Writer, "  < %s: %s\n", h.Name, h.Value)
			}
			return nil
		},
	}
}

func logBodyCommand() *cli.Command {
	return &cli.Command{
		Name:  "body",
		Usage: "the archived, decrypted bodies of one exchange (services in message_log.archive_bodies)",
		Description: `Prints {"Request": base64, "Response": base64}; the access is recorded in the
node's audit log.

Example:
   dxl log body --dir n1 --request-id 25c53b44-844c-4948-a6f5-e480117ef269`,
		Flags: []cli.Flag{nodeDirFlag(), &cli.StringFlag{Name: "request-id", Usage: "the exchange's X-Request-ID", Required: true}},
		Action: func(c *cli.Context) error {
			raw, err := adminGet(c, "/v1/log/body?request_id="+url.QueryEscape(c.String("request-id")))
			if err == nil {
				_, err = c.App.Writer.Write(raw)
			}
			return err
		},
	}
}

func logStatsCommand() *cli.Command {
	return &cli.Command{
		Name:  "stats",
		Usage: "the message log's state: records, pending timestamps, last stamp, TSA errors",
		Flags: []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			var st msglog.Stats
			if err := adminCall(c, http.MethodGet, "/v1/log/stats", nil, &st); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, st)
			}
			fmt.Fprintf(c.App.Writer, "records %d (committed %d), waiting for a timestamp %d\nlast timestamp %s by %s %s\n",
				st.Appended, st.Committed, st.Pending, fmtTime(st.LastStamp), st.LastTSA, st.LastTSAError)
			return nil
		},
	}
}

func logVerifyChainCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify-chain",
		Usage: "walk the message log's hash chain",
		Flags: []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			var out map[string]int
			if err := adminCall(c, http.MethodPost, "/v1/log/verify-chain", nil, &out); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, out)
			}
			fmt.Fprintf(c.App.Writer, "chain intact: %d records checked\n", out["checked"])
			return nil
		},
	}
}

// argThenFlags returns the one positional argument and applies any
// --flag value / --flag=value pairs written after it (urfave/cli stops
// parsing flags at the first argument).
func argThenFlags(c *cli.Context, what string) (string, error) {
	args := c.Args().Slice()
	if len(args) == 0 {
		return "", fmt.Errorf("missing %s", what)
	}
	for i := 1; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			return "", fmt.Errorf("unexpected argument %q: one %s", args[i], what)
		}
		if !hasVal {
			if name == "json" {
				val = "true"
			} else if i+1 < len(args) {
				i++
				val = args[i]
			} else {
				return "", fmt.Errorf("flag --%s needs a value", name)
			}
		}
		if err := c.Set(name, val); err != nil {
			return "", fmt.Errorf("flag --%s: %w", name, err)
		}
	}
	return args[0], nil
}
