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

A document delivery is there too: the sender's signed metadata, the
recipient node's signed transport receipt and the recipient's signed
receipt (content never).

Example:
   dxl log export --dir n1 --request-id 25c53b44-844c-4948-a6f5-e480117ef269 --out call.evidence.json
   dxl log verify call.evidence.json --root root.pem --tsr-out call.tsr
   dxl log export --dir n1 --document 0b8e6f9c-2f4b-4c2e-9d55-1b1e1f0c3a77 --out doc.evidence.json
   dxl log verify doc.evidence.json --root root.pem`,
		Subcommands: []*cli.Command{logExportCommand(), logVerifyCommand(), logBodyCommand(), logStatsCommand(), logVerifyChainCommand()},
	}
}

func logExportCommand() *cli.Command {
	return &cli.Command{
		Name:  "export",
		Usage: "write the evidence bundle of one exchange or one document delivery (through the running node's admin socket)",
		Flags: []cli.Flag{nodeDirFlag(),
			&cli.StringFlag{Name: "request-id", Usage: "the exchange's X-Request-ID"},
			&cli.StringFlag{Name: "document", Usage: "a delivered document's ID (instead of --request-id)"},
			&cli.StringFlag{Name: "recipient", Usage: "with --document: the recipient subsystem (needed when there are several)"},
			&cli.StringFlag{Name: "out", Value: "-", Usage: "write the bundle to `FILE`", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "overwrite --out"}},
		Action: func(c *cli.Context) error {
			id, doc := c.String("request-id"), c.String("document")
			if (id == "") == (doc == "") {
				return errors.New("give --request-id ID (a call) or --document ID (a delivery)")
			}
			path, read := "/v1/log/evidence?request_id="+url.QueryEscape(id), func(b []byte) error { _, err := msglog.ReadBundle(b); return err }
			if doc != "" {
				path = "/v1/log/evidence?document=" + url.QueryEscape(doc) + "&recipient=" + url.QueryEscape(c.String("recipient"))
				read = func(b []byte) error { _, err := msglog.ReadDeliveryBundle(b); return err }
			}
			raw, err := adminGet(c, path)
			if err != nil {
				return err
			}
			if err := read(raw); err != nil {
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

A delivery's bundle (dxl log export --document): every record's hash,
inclusion and token; the metadata signed by the sender's member; the
transport receipt and the receipt signed by the recipient's member, for
the metadata's SHA-256 and size. --tsr-out writes the first record's token.

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
			roots, err := readRoots(c.String("root"))
			if err != nil {
				return err
			}
			if f, err := msglog.BundleFormatOf(raw); err == nil && f == msglog.DeliveryBundleFormat {
				return verifyDelivery(c, raw, roots)
			}
			b, err := msglog.ReadBundle(raw)
			if err != nil {
				return err
			}
			v, err := msglog.VerifyBundle(b, roots)
			if err != nil {
				return fmt.Errorf("NOT VERIFIED: %w", err)
			}
			if err := writeToken(c, b.Token, b.MerkleRoot, b.CAChain); err != nil {
				return err
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

// readRoots reads the network CA root certificate(s) of a PEM file.
func readRoots(file string) (*x509.CertPool, error) {
	rootPEM, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return roots, nil
}

// writeToken writes a bundle's token and CA chain for --tsr-out and
// prints the OpenSSL command that checks them.
func writeToken(c *cli.Context, token, root []byte, caChain [][]byte) error {
	out := c.String("tsr-out")
	if out == "" {
		return nil
	}
	if err := writeOutput(c, out, token, 0o644, true); err != nil {
		return err
	}
	inter := strings.TrimSuffix(out, filepath.Ext(out)) + ".chain.pem"
	var chain []byte
	for _, der := range caChain[:max(len(caChain)-1, 0)] {
		chain = append(chain, pemCert(der)...)
	}
	if err := writeOutput(c, inter, chain, 0o644, true); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "check the token with OpenSSL:\n  openssl ts -verify -digest %s -in %s -CAfile %s -untrusted %s\n",
		hex.EncodeToString(root), out, c.String("root"), inter)
	return nil
}

// verifyDelivery verifies a delivery's bundle and prints what it proves.
func verifyDelivery(c *cli.Context, raw []byte, roots *x509.CertPool) error {
	b, err := msglog.ReadDeliveryBundle(raw)
	if err != nil {
		return err
	}
	v, err := msglog.VerifyDeliveryBundle(b, roots)
	if err != nil {
		return fmt.Errorf("NOT VERIFIED: %w", err)
	}
	if err := writeToken(c, b.Records[0].Token, b.Records[0].MerkleRoot, b.CAChain); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "VERIFIED document %s\n  sender     %s (metadata signed by %s at %s)\n  recipient  %s\n  content    %d bytes, sha256 %s\n",
		v.DocumentID, v.Sender, v.SenderMember, v.Submitted.Format(time.RFC3339Nano), v.Recipient, v.Size, v.SHA256)
	if !v.Stored.IsZero() {
		fmt.Fprintf(w, "  stored     at %s by node %s (transport receipt signed by %s)\n", v.Stored.Format(time.RFC3339Nano), v.StoredNode, v.RecipientMember)
	}
	if !v.Acknowledged.IsZero() {
		fmt.Fprintf(w, "  receipt    acknowledged at %s (signed by %s)\n", v.Acknowledged.Format(time.RFC3339Nano), v.RecipientMember)
	}
	for _, e := range v.Events {
		fmt.Fprintf(w, "  record %d  %s %s, logged %s, time-stamped at %s\n", e.Seq, e.Role, e.Event,
			e.Logged.Format(time.RFC3339Nano), e.Stamped.Format(time.RFC3339))
	}
	return nil
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
