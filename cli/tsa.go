package cli

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/tsa"
)

// maxTSR caps a .tsr file read by verify; real ones are a few KiB.
const maxTSR = 1 << 20

func tsaCommand() *cli.Command {
	dirFlag := &cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Usage: "TSA directory", Required: true, EnvVars: []string{"DXL_TSA_DIR"}}
	pass := passphraseFlag("passphrase-file", "the TSA key (default: $DXL_PASSPHRASE, else a prompt)")
	tsaPass := func(c *cli.Context, confirm bool) ([]byte, error) {
		return passphrase(c, "passphrase-file", []string{EnvPassphrase}, "the TSA key", confirm)
	}
	return &cli.Command{
		Name:  "tsa",
		Usage: "RFC 3161 time-stamping authority: init, serve, stamp, verify",
		Description: `The TSA answers RFC 3161 requests over HTTP (POST application/timestamp-query),
so any standard client, OpenSSL included, can get and check tokens. Tokens
are ECDSA P-256 signed, carry strictly increasing serial numbers and the
TSA's policy OID (tsa.json; the default 2.999.3161.1 is an example-arc
placeholder, see docs/pki.md).

A TSA directory holds tsa.key (sealed), tsa.pem (certificate chain),
tsa.db (serial numbers) and tsa.json (policy, accuracy).`,
		Subcommands: []*cli.Command{
			{
				Name:  "init",
				Usage: "create a TSA key and have the CA certify it",
				Description: `Generates a P-256 key, asks the CA in --ca-dir for a certificate with the
"tsa" profile (through 'dxl ca serve' if it runs there, else by opening the
CA directory, which needs its passphrase) and writes the TSA directory.

--policy sets the TSA policy OID written into tokens (kept in tsa.json).
Use an OID under your organisation's registered arc; without it the TSA
uses 2.999.3161.1, an unregistered example-arc placeholder, and warns at
start. Every arc must fit in 31 bits, so 2.25.<UUID> OIDs are refused:
digitorus/timestamp and other encoding/asn1-based verifiers cannot read them.

Example:
   DXL_PASSPHRASE=... dxl tsa init --dir ./tsa --ca-dir ./ca --policy 1.3.6.1.4.1.99999.1.1
   DXL_PASSPHRASE=tsa-secret DXL_CA_PASSPHRASE=ca-secret dxl tsa init --dir ./tsa --ca-dir ./ca --json`,
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "ca-dir", Usage: "CA directory", Required: true, EnvVars: []string{"DXL_CA_DIR"}},
					&cli.StringFlag{Name: "policy", Usage: "TSA policy `OID` (default " + tsa.DefaultPolicy.String() + ", a placeholder)"},
					pass,
					passphraseFlag("ca-passphrase-file", "the CA keys (default: $DXL_CA_PASSPHRASE, then $DXL_PASSPHRASE, else a prompt)"),
					jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					var opts []tsa.Option
					if s := c.String("policy"); s != "" {
						policy, err := tsa.ParsePolicy(s)
						if err != nil {
							return err
						}
						opts = append(opts, tsa.WithTSAPolicy(policy))
					}
					p, err := tsaPass(c, true)
					if err != nil {
						return err
					}
					dir := c.String("dir")
					if err := tsa.Init(c.Context, dir, p, caIssuer(c, c.String("ca-dir")), opts...); err != nil {
						return err
					}
					chain, err := tsa.LoadCertificates(filepath.Join(dir, tsa.CertFile))
					if err != nil {
						return err
					}
					settings, err := tsa.ReadSettings(dir)
					if err != nil {
						return err
					}
					out := map[string]any{
						"dir": dir, "subject": chain[0].Subject.String(), "serial": fmt.Sprintf("%x", chain[0].SerialNumber),
						"not_after": chain[0].NotAfter, "policy": settings.Policy, "sha256_fingerprint": ca.Fingerprint(chain[0]),
					}
					if c.Bool("json") {
						return printJSON(c, out)
					}
					fmt.Fprintf(c.App.Writer, "TSA created in %s\ncertificate: %s (until %s)\n  sha256:    %s\npolicy:      %s\n",
						dir, out["subject"], chain[0].NotAfter.Format(time.DateOnly), out["sha256_fingerprint"], settings.Policy)
					if settings.Policy == tsa.DefaultPolicy.String() {
						fmt.Fprintf(c.App.ErrWriter, "note: %s is an example-arc placeholder; set your operator's registered OID in %s\n",
							settings.Policy, filepath.Join(dir, tsa.SettingsFile))
					}
					return nil
				},
			},
			{
				Name:  "serve",
				Usage: "serve RFC 3161 time-stamp requests over HTTP",
				Description: `Serves, without authentication, on --listen:
   POST /          RFC 3161 (application/timestamp-query -> application/timestamp-reply)
   GET  /tsa.pem   the TSA certificate chain
   GET  /healthz
Runs until SIGINT or SIGTERM, then finishes requests in flight.

Example:
   DXL_PASSPHRASE=... dxl tsa serve --dir ./tsa --listen 127.0.0.1:8080
   openssl ts -query -data README.md -sha256 -cert -out q.tsq
   curl -s -H 'Content-Type: application/timestamp-query' --data-binary @q.tsq http://127.0.0.1:8080/ -o r.tsr`,
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "address to listen on"},
					pass,
				},
				Action: func(c *cli.Context) error {
					log := logger(c)
					p, err := tsaPass(c, false)
					if err != nil {
						return err
					}
					a, closer, err := tsa.Open(c.String("dir"), p, tsa.WithLogger(log))
					if err != nil {
						return err
					}
					defer closer.Close() // after serve: no request is using serials any more
					ln, err := listen(c.String("listen"))
					if err != nil {
						return err
					}
					log.Info("TSA ready", "component", "tsa", "subject", a.Certificate().Subject.String(), "policy", a.Policy().String())
					return serve(c.Context, log, server{name: "tsa", srv: newHTTPServer(tsaMux(a), log), ln: ln})
				},
			},
			{
				Name:      "stamp",
				Usage:     "get a time-stamp token for a file",
				ArgsUsage: "FILE",
				Description: `Hashes FILE (- for stdin), sends the digest with a random nonce to the TSA,
checks that the reply answers this request (imprint and nonce) and writes
the reply, the same DER TimeStampResp 'openssl ts -reply' writes, to
FILE.tsr. Check it later with 'dxl tsa verify' or OpenSSL.

Example:
   dxl tsa stamp --url http://127.0.0.1:8080/ contract.pdf
   dxl tsa stamp --url http://127.0.0.1:8080/ --hash sha512 --out contract.tsr contract.pdf --json
   openssl ts -verify -data contract.pdf -in contract.pdf.tsr -CAfile root.pem -untrusted intermediate.pem`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "url", Usage: "TSA URL (required)", EnvVars: []string{"DXL_TSA_URL"}},
					&cli.StringFlag{Name: "out", Usage: "write the reply to `FILE` (default FILE.tsr)", TakesFile: true},
					&cli.StringFlag{Name: "hash", Value: "sha256", Usage: "sha256, sha384 or sha512"},
					&cli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up after this long"},
					&cli.BoolFlag{Name: "force", Usage: "overwrite the output file"},
					jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					args, err := interspersed(c)
					if err != nil {
						return err
					}
					if len(args) != 1 {
						return errors.New("stamp takes one FILE argument")
					}
					if c.String("url") == "" {
						return errors.New("missing --url: the TSA URL")
					}
					file := args[0]
					h, err := tsa.ParseHash(c.String("hash"))
					if err != nil {
						return err
					}
					out := c.String("out")
					if out == "" {
						if file == "-" {
							return errors.New("stamping stdin needs --out")
						}
						out = file + ".tsr"
					}
					if _, err := os.Stat(out); err == nil && out != "-" && !c.Bool("force") {
						return fmt.Errorf("%s exists (use --force to overwrite)", out)
					}
					digest, err := hashFile(c, file, h)
					if err != nil {
						return err
					}
					ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
					defer cancel()
					resp, err := tsa.Request(ctx, c.String("url"), digest, h)
					if err != nil {
						return err
					}
					info, err := tsa.ParseToken(resp)
					if err != nil {
						return err
					}
					if err := writeOutput(c, out, resp, 0o644, c.Bool("force")); err != nil {
						return err
					}
					if c.Bool("json") {
						return printJSON(c, tokenJSON(info, file, out))
					}
					if out != "-" {
						fmt.Fprintf(c.App.ErrWriter, "time-stamped %s at %s (serial %s) -> %s\n", file, info.Time.Format(time.RFC3339Nano), info.Serial, out)
					}
					return nil
				},
			},
			{
				Name:      "verify",
				Usage:     "verify a time-stamp token or reply for a file",
				ArgsUsage: "FILE FILE.tsr",
				Description: `Checks, offline, that FILE.tsr (a TimeStampResp or a bare token) time-stamps
FILE: signature, that the signer is a time-stamping certificate chaining to
--root at the stamped time, and the imprint. Prints the time, serial,
policy and TSA; exits non-zero with the reason when any check fails.

Examples:
   dxl tsa verify contract.pdf contract.pdf.tsr --root ./ca/root.pem
   dxl tsa verify contract.pdf contract.pdf.tsr --root root.pem --intermediate intermediate.pem --json
   dxl tsa verify log.bin log.tsr --root root.pem --tsa-cert tsa.pem   # token issued without certificates`,
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "root", Usage: "trusted root certificate(s), PEM `FILE` (required)", TakesFile: true},
					&cli.StringFlag{Name: "intermediate", Usage: "intermediate certificate(s), PEM `FILE`", TakesFile: true},
					&cli.StringFlag{Name: "tsa-cert", Usage: "TSA certificate (PEM `FILE`, leaf first) for tokens issued without certificates", TakesFile: true},
					&cli.StringFlag{Name: "policy", Usage: "require this policy OID"},
					jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					args, err := interspersed(c)
					if err != nil {
						return err
					}
					if len(args) != 2 {
						return errors.New("verify takes FILE and FILE.tsr")
					}
					if c.String("root") == "" {
						return errors.New("missing --root: the trusted root certificate (PEM)")
					}
					file, tsr := args[0], args[1]
					opts, err := verifyOptions(c)
					if err != nil {
						return err
					}
					der, err := readInput(c, tsr, maxTSR)
					if err != nil {
						return err
					}
					parsed, err := tsa.ParseToken(der)
					if err != nil {
						return fmt.Errorf("%s: %w", tsr, err)
					}
					if parsed.Hash == 0 {
						return fmt.Errorf("%s: token uses an unsupported hash algorithm", tsr)
					}
					if opts.Digest, err = hashFile(c, file, parsed.Hash); err != nil {
						return err
					}
					opts.Hash = parsed.Hash
					info, err := tsa.Verify(der, opts)
					if err != nil {
						return fmt.Errorf("verification FAILED: %s does not time-stamp %s: %w", tsr, file, err)
					}
					if c.Bool("json") {
						return printJSON(c, tokenJSON(info, file, tsr))
					}
					tsaName := info.TSAName
					if tsaName == "" {
						tsaName = info.Signer.Subject.String()
					}
					fmt.Fprintf(c.App.Writer, "Verification: OK\ntime:     %s (accuracy %s)\nserial:   %s\npolicy:   %s\nhash:     %s\nTSA:      %s\n",
						info.Time.Format(time.RFC3339Nano), info.Accuracy, info.Serial, info.Policy, strings.ToLower(strings.ReplaceAll(info.Hash.String(), "-", "")), tsaName)
					return nil
				},
			},
		},
	}
}

// tsaMux serves the TSA: RFC 3161 at /, its certificate chain at /tsa.pem.
func tsaMux(a *tsa.Authority) http.Handler {
	chainPEM := ca.PEMChain(a.Chain()...)
	mux := http.NewServeMux()
	mux.Handle("/", a.Handler())
	mux.HandleFunc("GET /tsa.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pem-certificate-chain")
		w.Write(chainPEM)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// caIssuer issues the TSA certificate through the CA in dir: the running
// 'dxl ca serve' if any, else the directory itself.
func caIssuer(c *cli.Context, dir string) tsa.IssueFunc {
	return func(ctx context.Context, csr []byte) ([]*x509.Certificate, error) {
		a, err := openCA(c, dir, func() ([]byte, error) {
			return passphrase(c, "ca-passphrase-file", []string{EnvCAPassphrase, EnvPassphrase}, "the CA keys", false)
		})
		if err != nil {
			return nil, err
		}
		defer a.Close()
		issued, err := a.Issue(ctx, ca.IssueRequest{CSR: csr, Profile: ca.ProfileTSA})
		if err != nil {
			return nil, err
		}
		return issued.Chain, nil
	}
}

func verifyOptions(c *cli.Context) (tsa.VerifyOptions, error) {
	var opts tsa.VerifyOptions
	roots, err := tsa.LoadCertificates(c.String("root"))
	if err != nil {
		return opts, err
	}
	opts.Roots = x509.NewCertPool()
	for _, r := range roots {
		opts.Roots.AddCert(r)
	}
	opts.Intermediates = x509.NewCertPool()
	if path := c.String("intermediate"); path != "" {
		inters, err := tsa.LoadCertificates(path)
		if err != nil {
			return opts, err
		}
		for _, i := range inters {
			opts.Intermediates.AddCert(i)
		}
	}
	if path := c.String("tsa-cert"); path != "" {
		certs, err := tsa.LoadCertificates(path)
		if err != nil {
			return opts, err
		}
		opts.TSACert = certs[0]
		for _, i := range certs[1:] {
			opts.Intermediates.AddCert(i)
		}
	}
	if s := c.String("policy"); s != "" {
		if opts.Policy, err = tsa.ParsePolicy(s); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// hashFile hashes a file, "-" meaning standard input, without a size cap.
func hashFile(c *cli.Context, path string, h crypto.Hash) ([]byte, error) {
	r, err := openInput(c, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d := h.New()
	if _, err := io.Copy(d, r); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return d.Sum(nil), nil
}

func tokenJSON(info *tsa.Info, file, tsr string) map[string]any {
	out := map[string]any{
		"file": file, "token": tsr, "time": info.Time, "accuracy": info.Accuracy.String(),
		"serial": info.Serial.String(), "policy": info.Policy.String(),
		"hash":   strings.ToLower(strings.ReplaceAll(info.Hash.String(), "-", "")),
		"digest": fmt.Sprintf("%x", info.HashedMessage), "tsa": info.TSAName,
	}
	if info.Nonce != nil {
		out["nonce"] = info.Nonce.String()
	}
	if info.Signer != nil {
		out["signer"] = info.Signer.Subject.String()
		out["signer_sha256_fingerprint"] = ca.Fingerprint(info.Signer)
	}
	return out
}

// interspersed applies flags written after the positional arguments, as in
// "dxl tsa verify FILE FILE.tsr --root ROOT.pem" (urfave/cli v2 stops
// parsing flags at the first argument), and returns the positional ones.
func interspersed(c *cli.Context) ([]string, error) {
	var pos []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		var flag cli.Flag
		for _, f := range c.Command.Flags {
			for _, n := range f.Names() {
				if n == name {
					flag = f
				}
			}
		}
		if flag == nil {
			return nil, fmt.Errorf("flag provided but not defined: %s", a)
		}
		if _, isBool := flag.(*cli.BoolFlag); isBool && !hasVal {
			val = "true"
		} else if !hasVal {
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			val = args[i]
		}
		if err := c.Set(name, val); err != nil {
			return nil, fmt.Errorf("invalid value %q for flag %s: %w", val, a, err)
		}
	}
	return pos, nil
}
