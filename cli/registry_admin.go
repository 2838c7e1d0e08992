package cli

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
)

// Environment variables of the registry admin commands.
const (
	EnvRegistry      = "DXL_REGISTRY"       // registry base URLs, comma-separated
	EnvOperatorToken = "DXL_OPERATOR_TOKEN" // operator token (never echoed)
)

// registryAdminCommands returns the admission and configuration commands
// under `dxl registry`: request, member, connection, service, group,
// history and config.
// They talk to the registry HTTP API (docs/registry-api.yaml) of any
// server; writes reach the leader through it.
func registryAdminCommands() []*cli.Command {
	return []*cli.Command{requestCommand(), memberCommand(), registryNodeCommand(), connectionCommand(), registryServiceCommand(), registrySubsystemCommand(),
		registryGroupCommand(), historyCommand(), configCommand()}
}

// ---- connection to the registry ----

func registryFlag() cli.Flag {
	return &cli.StringFlag{Name: "registry", Usage: "registry base `URL`s, comma-separated (default: the anchor's servers)", EnvVars: []string{EnvRegistry}}
}

func anchorFlag() cli.Flag {
	return &cli.StringFlag{Name: "anchor", Usage: "anchor `FILE` (anchor.json): trust root and registry URLs", TakesFile: true}
}

func rootFlag() cli.Flag {
	return &cli.StringFlag{Name: "root", Usage: "network CA root certificate `FILE` (PEM), instead of --anchor", TakesFile: true}
}

func tokenFlag() cli.Flag {
	return &cli.StringFlag{Name: "token-file", Usage: "read the operator token from `FILE` (default: $" + EnvOperatorToken + ")", TakesFile: true}
}

// publicFlags are what a command needs to reach the registry; adminFlags
// add the operator token.
func publicFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{registryFlag(), anchorFlag(), rootFlag(), jsonFlag()}, extra...)
}

func adminFlags(extra ...cli.Flag) []cli.Flag {
	return append(publicFlags(tokenFlag()), extra...)
}

// loadAnchor reads --anchor, or returns nil when it is not set.
func loadAnchor(c *cli.Context) (*globalconf.Anchor, error) {
	path := c.String("anchor")
	if path == "" {
		return nil, nil
	}
	a, err := globalconf.LoadAnchor(path)
	if err != nil {
		return nil, fmt.Errorf("--anchor %s: %w", path, err)
	}
	return a, nil
}

// operatorToken reads the token from --token-file, else $DXL_OPERATOR_TOKEN.
func operatorToken(c *cli.Context) (string, error) {
	if path := c.String("token-file"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("token file: %w", err)
		}
		line, _, _ := strings.Cut(string(raw), "\n")
		if line = strings.TrimSpace(line); line == "" {
			return "", fmt.Errorf("token file %s is empty", path)
		}
		return line, nil
	}
	if tok := strings.TrimSpace(os.Getenv(EnvOperatorToken)); tok != "" {
		return tok, nil
	}
	return "", fmt.Errorf("no operator token: set %s or pass --token-file FILE (from 'dxl registry init' or an admin)", EnvOperatorToken)
}

// registryClient builds a client from --registry/$DXL_REGISTRY, --anchor
// and --root (on a registry server, --dir supplies its own URLs and root),
// with the operator token when admin is set.
func registryClient(c *cli.Context, admin bool) (*client.Client, error) {
	anchor, err := loadAnchor(c)
	if err != nil {
		return nil, err
	}
	var urls []string
	for _, u := range strings.Split(c.String("registry"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 && anchor != nil {
		urls = anchor.Servers
	}
	rootPath := c.String("root")
	if dir := c.String("dir"); dir != "" { // a registry server's own directory
		if len(urls) == 0 {
			f, err := membership.ReadRegistryFile(dir)
			if err != nil {
				return nil, err
			}
			urls = f.APIURLs
		}
		if rootPath == "" && anchor == nil {
			rootPath = filepath.Join(dir, membership.DirCA, ca.FileRoot)
		}
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("no registry URL: pass --registry URL[,URL], set %s, or pass --anchor (or --dir on a registry server)", EnvRegistry)
	}
	roots := x509.NewCertPool()
	switch {
	case rootPath != "":
		data, err := os.ReadFile(rootPath)
		if err != nil {
			return nil, fmt.Errorf("CA root: %w", err)
		}
		if !roots.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("CA root %s: no PEM certificate in it", rootPath)
		}
	case anchor != nil:
		for _, r := range anchor.Roots {
			roots.AddCert(r)
		}
	default:
		return nil, errors.New("no trust root for the registry's TLS certificates: pass --anchor anchor.json or --root root.pem")
	}
	opts := []client.Option{client.WithRoots(roots), client.WithLogger(logger(c))}
	if admin {
		tok, err := operatorToken(c)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithOperatorToken(tok))
	}
	return client.New(urls, opts...)
}

// withRegistry runs fn with a client, closing it afterwards.
func withRegistry(c *cli.Context, admin bool, fn func(*client.Client) error) error {
	cl, err := registryClient(c, admin)
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(cl)
}

// oneArg returns the single positional argument named what.
func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 || strings.TrimSpace(c.Args().First()) == "" {
		return "", fmt.Errorf("want exactly one argument: the %s (flags go before it)", what)
	}
	return c.Args().First(), nil
}

// printResult prints a write's result.
func printResult(c *cli.Context, what string, res state.Result) error {
	if c.Bool("json") {
		return printJSON(c, res)
	}
	fmt.Fprintf(c.App.Writer, "%s %s (index %d)\n", what, res.Target, res.Index)
	return nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// ---- registration requests ----

// loadRegistration reads a Form 01/02 JSON file strictly and checks it as
// the registry will, with errors that name the file and the field.
func loadRegistration(c *cli.Context, path string) (state.Registration, error) {
	var r state.Registration
	data, err := readInput(c, path, api.MaxRegistrationBody)
	if err != nil {
		return r, fmt.Errorf("--form: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(&r)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data after the JSON object")
	}
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := lineCol(data, se.Offset)
			return r, fmt.Errorf("%s:%d:%d: invalid JSON: %v", path, line, col, se)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return r, fmt.Errorf("%s: invalid JSON: the file ends inside the object", path)
		case errors.As(err, &te):
			return r, fmt.Errorf("%s: field %s: got a JSON %s, want %s", path, te.Field, te.Value, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return r, fmt.Errorf("%s: %s (see docs/examples/registration.json for the fields)",
				path, strings.TrimPrefix(err.Error(), "json: "))
		}
		return r, fmt.Errorf("%s: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	return line, int(off) - bytes.LastIndexByte(before, '\n') - 1 + 1
}

// loadCSR reads a PKCS#10 request (PEM or DER) and returns it as PEM.
func loadCSR(c *cli.Context, flag string) (string, error) {
	path := c.String(flag)
	data, err := readInput(c, path, ca.MaxCSRSize*2)
	if err != nil {
		return "", fmt.Errorf("--%s: %w", flag, err)
	}
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
			return "", fmt.Errorf("--%s %s: PEM block is %q, want CERTIFICATE REQUEST", flag, path, b.Type)
		}
		der = b.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return "", fmt.Errorf("--%s %s: not a certificate request: %v", flag, path, err)
	}
	if err := csr.CheckSignature(); err != nil {
		return "", fmt.Errorf("--%s %s: the request's self-signature does not verify: %v", flag, path, err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})), nil
}

func printStatus(c *cli.Context, st client.RegistrationStatus) error {
	if c.Bool("json") {
		return printJSON(c, st)
	}
	fmt.Fprintf(c.App.Writer, "request:   %s\nmember:    %s\nstatus:    %s\nsubmitted: %s\n",
		st.RequestID, st.Member, st.Status, fmtTime(st.SubmittedAt))
	if st.DecidedAt != nil {
		fmt.Fprintf(c.App.Writer, "decided:   %s\n", fmtTime(*st.DecidedAt))
	}
	if st.Reason != "" {
		fmt.Fprintf(c.App.Writer, "reason:    %s\n", st.Reason)
	}
	return nil
}

func requestCommand() *cli.Command {
	reason := &cli.StringFlag{Name: "reason", Usage: "why (recorded in the history)", Required: true}
	return &cli.Command{
		Name:  "request",
		Usage: "registration requests: submit, status, certificates, list, show, approve, reject",
		Description: `A prospective member submits its Form 01/02 fields with two PKCS#10
requests (its node's auth key and its signing key); an operator approves
(the registry's CA issues both certificates) or rejects with a reason; the
applicant then fetches them with 'certificates'.

Connection: --registry URL[,URL] or $DXL_REGISTRY (default: the servers in
--anchor), trusting the CA root in --anchor or --root. Operator commands read
the token from --token-file or $DXL_OPERATOR_TOKEN.`,
		Subcommands: []*cli.Command{
			{
				Name:  "submit",
				Usage: "submit a registration (no operator token needed)",
				Description: `The form is a JSON file with the Form 01 and Form 02 fields; see
docs/examples/registration.json. It is checked here first, so a mistake is
reported with the field's name before anything is sent.

Example:
   openssl req -new -newkey ed25519 -nodes -keyout node.key -subj "/O=So TTTT Ha Noi" -out node.csr
   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sign.key -subj "/O=So TTTT Ha Noi" -out sign.csr
   dxl registry request submit --anchor anchor.json --member VN-TEST/GOV/000.00.00.H26 \
      --form registration.json --node-csr node.csr --sign-csr sign.csr --addr /ip4/203.0.113.7/tcp/4001`,
				Flags: publicFlags(
					&cli.StringFlag{Name: "member", Usage: "member ID INSTANCE/CLASS/CODE applied for", Required: true},
					&cli.StringFlag{Name: "form", Usage: "registration `FILE` (JSON, - for stdin)", Required: true, TakesFile: true},
					&cli.StringFlag{Name: "node-csr", Usage: "PKCS#10 request `FILE` of the node's auth key (PEM or DER)", Required: true, TakesFile: true},
					&cli.StringFlag{Name: "sign-csr", Usage: "PKCS#10 request `FILE` of the member's signing key (PEM or DER)", Required: true, TakesFile: true},
					&cli.StringSliceFlag{Name: "addr", Usage: "the node's libp2p `MULTIADDR` (repeatable)"},
				),
				Action: func(c *cli.Context) error {
					form, err := loadRegistration(c, c.String("form"))
					if err != nil {
						return err
					}
					nodeCSR, err := loadCSR(c, "node-csr")
					if err != nil {
						return err
					}
					signCSR, err := loadCSR(c, "sign-csr")
					if err != nil {
						return err
					}
					return withRegistry(c, false, func(cl *client.Client) error {
						st, err := cl.Submit(c.Context, client.SubmitRequest{Member: c.String("member"), Registration: form,
							NodeCSR: nodeCSR, SignCSR: signCSR, NodeAddrs: c.StringSlice("addr")})
						if err != nil {
							return err
						}
						return printStatus(c, st)
					})
				},
			},
			{
				Name:        "status",
				Usage:       "show a request's public status (no operator token needed)",
				ArgsUsage:   "REQUEST-ID",
				Description: "Example:\n   dxl registry request status --anchor anchor.json 4f0c2a9e6b1d8a73",
				Flags:       publicFlags(),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "request ID")
					if err != nil {
						return err
					}
					return withRegistry(c, false, func(cl *client.Client) error {
						st, err := cl.RegistrationStatus(c.Context, id)
						if err != nil {
							return err
						}
						return printStatus(c, st)
					})
				},
			},
			requestCertificatesCommand(),
			{
				Name:        "list",
				Usage:       "list registration requests",
				Description: "Example:\n   dxl registry request list --anchor anchor.json --status pending --json",
				Flags:       adminFlags(&cli.StringFlag{Name: "status", Usage: "only requests with this status: pending, approved or rejected"}),
				Action: func(c *cli.Context) error {
					return withRegistry(c, true, func(cl *client.Client) error {
						list, err := cl.Registrations(c.Context, state.RequestStatus(c.String("status")))
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, list)
						}
						tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
						fmt.Fprintln(tw, "REQUEST\tSTATUS\tMEMBER\tNAME\tSUBMITTED\tDECIDED BY")
						for _, r := range list {
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.RequestID, r.Status, r.Member, r.Name, fmtTime(r.SubmittedAt), r.DecidedBy)
						}
						return tw.Flush()
					})
				},
			},
			{
				Name:        "show",
				Usage:       "show a registration request in full",
				ArgsUsage:   "REQUEST-ID",
				Description: "Example:\n   dxl registry request show --anchor anchor.json --json 4f0c2a9e6b1d8a73",
				Flags:       adminFlags(),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "request ID")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						r, err := cl.Registration(c.Context, id)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, r)
						}
						f := r.Registration
						w := c.App.Writer
						fmt.Fprintf(w, "request:        %s (%s)\nmember:         %s\nunit:           %s, %s\n", r.ID, r.Status, r.Member, f.Unit.Name, f.Unit.Address)
						fmt.Fprintf(w, "representative: %s, %s\ntechnical:      %s <%s> %s\n", f.Representative.Name, f.Representative.Title,
							f.TechnicalContact.Name, f.TechnicalContact.Email, f.TechnicalContact.Phone)
						fmt.Fprintf(w, "system:         %s %s (%s)\nsecurity:       level %d, approved by %s; highest classification %s\n",
							f.System.Code, f.System.Name, f.System.BusinessDomain, f.SecurityLevel, f.SecurityApprovalDoc, f.HighestClassification)
						fmt.Fprintf(w, "connection:     %s\ncatalogue:      %d rows\ncommitment:     %s, %s, %s\n", f.ConnectionOption,
							len(f.DataCatalogue), f.Commitment.SignerName, f.Commitment.SignerTitle, f.Commitment.Date)
						fmt.Fprintf(w, "peer ID:        %s\naddresses:      %s\nsubmitted:      %s by %s\n", r.PeerID, strings.Join(r.NodeAddrs, " "),
							fmtTime(r.SubmittedAt), r.SubmittedBy)
						if r.DecidedAt != nil {
							fmt.Fprintf(w, "decided:        %s by %s %s\n", fmtTime(*r.DecidedAt), r.DecidedBy, r.Reason)
						}
						return nil
					})
				},
			},
			{
				Name:      "approve",
				Usage:     "approve a pending request: issue its certificates, activate the member",
				ArgsUsage: "REQUEST-ID",
				Description: `Prints the issued serials; with --json also the certificates (PEM) to
hand to the member.

Example:
   dxl registry request approve --anchor anchor.json 4f0c2a9e6b1d8a73`,
				Flags: adminFlags(),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "request ID")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						ar, err := cl.Approve(c.Context, id)
						if err != nil {
							return err
						}
						if c.Bool("json") {
							return printJSON(c, ar)
						}
						fmt.Fprintf(c.App.Writer, "approved %s: member %s active (index %d)\nnode %s  auth certificate serial %s\nsigning certificate serial %s\n",
							ar.RequestID, ar.Member, ar.Index, ar.PeerID, ar.NodeSerial, ar.SignSerial)
						return nil
					})
				},
			},
			{
				Name:        "reject",
				Usage:       "reject a pending request",
				ArgsUsage:   "REQUEST-ID",
				Description: "Example:\n   dxl registry request reject --anchor anchor.json --reason \"security approval document missing\" 4f0c2a9e6b1d8a73",
				Flags:       adminFlags(reason),
				Action: func(c *cli.Context) error {
					id, err := oneArg(c, "request ID")
					if err != nil {
						return err
					}
					return withRegistry(c, true, func(cl *client.Client) error {
						res, err := cl.Reject(c.Context, id, c.String("reason"))
						if err != nil {
							return err
						}
						return printResult(c, "rejected", res)
					})
				},
			},
		},
	}
}

// ---- members, connections, history ----
