package cli

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
)

func caCommand() *cli.Command {
	dirFlag := &cli.StringFlag{Name: "dir", Aliases: []string{"d"}, Usage: "CA directory", Required: true, EnvVars: []string{"DXL_CA_DIR"}}
	pass := passphraseFlag("passphrase-file", "the CA keys (default: $DXL_PASSPHRASE, else a prompt)")
	caPass := func(c *cli.Context, confirm bool) func() ([]byte, error) {
		return func() ([]byte, error) {
			return passphrase(c, "passphrase-file", []string{EnvPassphrase}, "the CA keys", confirm)
		}
	}
	withCA := func(c *cli.Context, fn func(caAuthority) error) error {
		a, err := openCA(c, c.String("dir"), caPass(c, false))
		if err != nil {
			return err
		}
		defer a.Close()
		return fn(a)
	}
	return &cli.Command{
		Name:  "ca",
		Usage: "built-in certificate authority: init, issue, revoke, CRL, OCSP",
		Description: `The CA issues node authentication, member signing, TSA and registry
configuration certificates from PKCS#10 requests, and answers OCSP and CRL
requests. Keys are sealed with AES-256-GCM under a scrypt-derived key.

While 'dxl ca serve' runs on a directory, the other ca commands talk to it
through the directory's admin socket (ca.sock) and need no passphrase.`,
		Subcommands: []*cli.Command{
			{
				Name:  "init",
				Usage: "create a root and an intermediate CA in a new directory",
				Description: `Example:
   DXL_PASSPHRASE=... dxl ca init --dir ./ca --instance VN-TEST --org "Cuc Chuyen doi so" --public-url http://ca.example.vn:8081

Writes root.pem, intermediate.pem, root.key and intermediate.key (sealed), ca.json and ca.db.
After init the root key is needed only to re-create the intermediate; keep it offline.`,
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "instance", Usage: "DXL instance code, e.g. VN-TEST or VN", Required: true},
					&cli.StringFlag{Name: "org", Usage: "operator organisation (subject O); default \"DXL <instance> network operator\""},
					&cli.StringFlag{Name: "country", Value: "VN", Usage: "subject C, ISO 3166 two-letter code"},
					&cli.StringFlag{Name: "operator", Usage: "operator member ID CLASS/CODE (serialNumber of TSA and registry certificates)"},
					&cli.StringFlag{Name: "public-url", Usage: "base URL of 'dxl ca serve' put into certificates as OCSP and CRL pointers"},
					pass, jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					p, err := caPass(c, true)()
					if err != nil {
						return err
					}
					a, err := ca.Init(c.String("dir"), ca.Config{
						Instance: c.String("instance"), Organization: c.String("org"), Country: c.String("country"),
						Operator: c.String("operator"), PublicURL: c.String("public-url"),
					}, p, ca.WithLogger(logger(c)))
					if err != nil {
						return err
					}
					defer a.Close()
					out := map[string]any{
						"dir": c.String("dir"), "instance": a.Config().Instance,
						"root_subject": a.Root().Subject.String(), "root_sha256_fingerprint": ca.Fingerprint(a.Root()),
						"intermediate_subject": a.Intermediate().Subject.String(), "intermediate_not_after": a.Intermediate().NotAfter,
					}
					if c.Bool("json") {
						return printJSON(c, out)
					}
					fmt.Fprintf(c.App.Writer, "CA created in %s\nroot:         %s\n  sha256:     %s\nintermediate: %s (until %s)\n",
						c.String("dir"), out["root_subject"], out["root_sha256_fingerprint"], out["intermediate_subject"], a.Intermediate().NotAfter.Format(time.DateOnly))
					return nil
				},
			},
			{
				Name:      "issue",
				Usage:     "issue a certificate from a PKCS#10 request",
				ArgsUsage: " ",
				Description: `Profiles: node-auth, member-sign, tsa, registry-config, registry-server
(see docs/pki.md). registry-server takes the server ID as --cn and its host
names and addresses as --dns and --ip.
The CA sets the subject (C, O, serialNumber = member code, CN) and the
subject alternative names; the request only contributes its key and,
where the flags do not say, its O and CN.

Examples:
   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sign.key -subj "/O=So TTTT Ha Noi" -out sign.csr
   dxl ca issue --dir ./ca --csr sign.csr --profile member-sign --member GOV/000.00.00.H26 --out sign.pem
   dxl ca issue --dir ./ca --csr node.csr --profile node-auth --member GOV/000.00.00.H26 --out node.pem --json`,
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "csr", Usage: "PKCS#10 request `FILE` (PEM or DER, - for stdin)", Required: true, TakesFile: true},
					&cli.StringFlag{Name: "profile", Usage: "node-auth, member-sign, tsa, registry-config or registry-server", Required: true},
					&cli.StringFlag{Name: "out", Value: "-", Usage: "write the certificate and the intermediate (PEM) to `FILE`", TakesFile: true},
					&cli.StringFlag{Name: "member", Usage: "member ID [INSTANCE/]CLASS/CODE (required for node-auth and member-sign)"},
					&cli.StringFlag{Name: "org", Usage: "subject O (default: from the request)"},
					&cli.StringFlag{Name: "cn", Usage: "subject CN (default: from the request, or the profile's)"},
					&cli.StringFlag{Name: "peer-id", Usage: "node-auth: expected libp2p peer ID of the request's key"},
					&cli.DurationFlag{Name: "validity", Usage: "lifetime (default per profile)"},
					&cli.StringSliceFlag{Name: "dns", Usage: "registry-server: DNS name SAN (repeatable)"},
					&cli.StringSliceFlag{Name: "ip", Usage: "registry-server: IP address SAN (repeatable)"},
					&cli.BoolFlag{Name: "force", Usage: "overwrite --out"},
					pass, jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					profile, err := ca.ParseProfile(c.String("profile"))
					if err != nil {
						return err
					}
					csr, err := readInput(c, c.String("csr"), ca.MaxCSRSize)
					if err != nil {
						return err
					}
					ips, err := parseIPs(c.StringSlice("ip"))
					if err != nil {
						return err
					}
					return withCA(c, func(a caAuthority) error {
						issued, err := a.Issue(c.Context, ca.IssueRequest{
							CSR: csr, Profile: profile, Member: c.String("member"), Organization: c.String("org"),
							CommonName: c.String("cn"), PeerID: c.String("peer-id"), Validity: ca.Duration(c.Duration("validity")),
							DNSNames: c.StringSlice("dns"), IPs: ips,
						})
						if err != nil {
							return err
						}
						if c.String("out") != "-" || !c.Bool("json") {
							if err := writeOutput(c, c.String("out"), []byte(issued.PEM), 0o644, c.Bool("force")); err != nil {
								return err
							}
						}
						if c.Bool("json") {
							return printJSON(c, issued)
						}
						if c.String("out") != "-" {
							fmt.Fprintf(c.App.ErrWriter, "issued %s serial %s to %s\n", issued.Profile, issued.Serial, c.String("out"))
						}
						return nil
					})
				},
			},
			{
				Name:  "revoke",
				Usage: "revoke a certificate",
				Description: `Reasons: unspecified, keyCompromise, cACompromise, affiliationChanged,
superseded, cessationOfOperation, privilegeWithdrawn. Revocation is final.
OCSP reports it at once; the CRL from the next fetch on.

Example:
   dxl ca revoke --dir ./ca --serial 8f3c...e1 --reason keyCompromise`,
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "serial", Usage: "certificate serial, hex", Required: true},
					&cli.StringFlag{Name: "reason", Value: "unspecified", Usage: "RFC 5280 reason name"},
					pass, jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					reason, err := ca.ParseReason(c.String("reason"))
					if err != nil {
						return err
					}
					return withCA(c, func(a caAuthority) error {
						rec, err := a.Revoke(c.Context, c.String("serial"), reason)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, rec)
						}
						fmt.Fprintf(c.App.Writer, "revoked %s (%s) at %s\n", rec.Serial, rec.Reason, rec.RevokedAt.Format(time.RFC3339))
						return nil
					})
				},
			},
			{
				Name:        "list",
				Usage:       "list issued certificates",
				Description: "Example:\n   dxl ca list --dir ./ca --status revoked --json",
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "status", Usage: "only certificates with this status: valid or revoked"},
					pass, jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					return withCA(c, func(a caAuthority) error {
						recs, err := a.List(c.Context, c.String("status"))
						if err != nil {
							return err
						}
						if c.Bool("json") {
							for i := range recs {
								recs[i].DER = nil
							}
							return printJSON(c, recs)
						}
						tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
						fmt.Fprintln(tw, "SERIAL\tPROFILE\tSTATUS\tNOT AFTER\tSUBJECT")
						for _, r := range recs {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Serial, r.Profile, r.Status, r.NotAfter.Format(time.DateOnly), r.Subject)
						}
						return tw.Flush()
					})
				},
			},
			{
				Name:        "show",
				Usage:       "show one certificate's record and PEM",
				Description: "Example:\n   dxl ca show --dir ./ca --serial 8f3c...e1 --json",
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "serial", Usage: "certificate serial, hex", Required: true},
					pass, jsonFlag(),
				},
				Action: func(c *cli.Context) error {
					return withCA(c, func(a caAuthority) error {
						rec, err := a.Get(c.Context, c.String("serial"))
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, rec)
						}
						cert, err := x509.ParseCertificate(rec.DER)
						if err != nil {
							return err
						}
						fmt.Fprintf(c.App.Writer, "serial:   %s\nprofile:  %s\nsubject:  %s\nmember:   %s\nstatus:   %s %s\nvalid:    %s .. %s\nsha256:   %s\n",
							rec.Serial, rec.Profile, rec.Subject, rec.Member, rec.Status, rec.Reason,
							rec.NotBefore.Format(time.RFC3339), rec.NotAfter.Format(time.RFC3339), rec.Fingerprint)
						if rec.PeerID != "" {
							fmt.Fprintf(c.App.Writer, "peer ID:  %s\n", rec.PeerID)
						}
						return pem.Encode(c.App.Writer, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
					})
				},
			},
			{
				Name:        "crl",
				Usage:       "write the current CRL (DER)",
				Description: "Example:\n   dxl ca crl --dir ./ca --out ca.crl && openssl crl -inform DER -in ca.crl -noout -text",
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "out", Value: "-", Usage: "output `FILE`", TakesFile: true},
					&cli.BoolFlag{Name: "force", Usage: "overwrite --out"},
					pass,
				},
				Action: func(c *cli.Context) error {
					return withCA(c, func(a caAuthority) error {
						der, err := a.CRL(c.Context)
						if err != nil {
							return err
						}
						return writeOutput(c, c.String("out"), der, 0o644, c.Bool("force"))
					})
				},
			},
			{
				Name:  "serve",
				Usage: "serve OCSP, CRL and the admin socket",
				Description: `Serves, without authentication, on --listen:
   POST /ocsp, GET /ocsp/{base64}   OCSP (RFC 6960)
   GET  /crl                        CRL (DER)
   GET  /root.pem, /intermediate.pem, /healthz
and the JSON admin API on the owner-only Unix socket DIR/ca.sock:
   curl --unix-socket ./ca/ca.sock http://ca/v1/certificates

Example:
   DXL_PASSPHRASE=... dxl ca serve --dir ./ca --listen 127.0.0.1:8081`,
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8081", Usage: "address for OCSP and CRL"},
					pass,
				},
				Action: func(c *cli.Context) error {
					log := logger(c)
					p, err := caPass(c, false)()
					if err != nil {
						return err
					}
					a, err := ca.Open(c.String("dir"), p, ca.WithLogger(log))
					if err != nil {
						return err
					}
					defer a.Close()
					adminLn, err := a.ListenAdmin()
					if err != nil {
						return err
					}
					defer os.Remove(adminLn.Addr().String())
					pubLn, err := listen(c.String("listen"))
					if err != nil {
						adminLn.Close()
						return err
					}
					return serve(c.Context, log,
						server{name: "ca-public", srv: newHTTPServer(a.PublicHandler(), log), ln: pubLn},
						server{name: "ca-admin", srv: newHTTPServer(a.AdminHandler(), log), ln: adminLn})
				},
			},
		},
	}
}

// parseIPs parses --ip values.
func parseIPs(ss []string) ([]net.IP, error) {
	var out []net.IP
	for _, s := range ss {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, fmt.Errorf("--ip %q is not an IP address", s)
		}
		out = append(out, ip)
	}
	return out, nil
}
