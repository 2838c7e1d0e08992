package cli

import (
	"fmt"
	"net/http"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/node/auth"
)

func nodeAccessKeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "access-key",
		Usage: "access keys for information systems that sign their requests (HMAC-SHA256, HMAC-SHA1, RSA)",
		Description: `An access key is the third way an information system authenticates to its
node (beside a pinned client certificate and a bearer token): every request
is signed, with the key's secret (HMAC) or with the system's RSA private key
(docs/integration.md, "Signed access keys"). The node must be running (this
goes through its admin socket); each change is in its admin audit log. The
secret key is shown once; the node keeps it sealed (AES-256-GCM), never in
clear.

Examples:
   dxl node access-key create --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/HOTICH
   dxl node access-key create --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/HOTICH --rsa-public-key is.pub
   dxl node access-key create --dir n1 --subsystem VN-TEST/GOV/000.00.00.H26/OLDSYS --allow-hmac-sha1
   dxl node access-key list --dir n1 --json
   dxl node access-key revoke --dir n1 dxlak_3kq...
   DXL_ACCESS_KEY=dxlak_... DXL_SECRET_KEY=dxlas_... DXL_CACERT=n1/api.pem \
       scripts/signed-request.sh GET https://127.0.0.1:8443/r1/VN-TEST/GOV/000.00.00.G01/HOTICH/citizens/001`,
		Subcommands: []*cli.Command{accessKeyCreate(), accessKeyList(), accessKeyRevoke()},
	}
}

func accessKeyCreate() *cli.Command {
	return &cli.Command{
		Name:  "create",
		Usage: "create an access key (HMAC: prints its secret key once; --rsa-public-key: for that key)",
		Flags: []cli.Flag{nodeDirFlag(),
			&cli.StringFlag{Name: "subsystem", Usage: "the information system, INSTANCE/CLASS/MEMBER/SUBSYSTEM", Required: true},
			&cli.StringFlag{Name: "rsa-public-key", Usage: "the system's RSA public key `FILE` (PEM, at least 2048 bits): it signs with its private key", TakesFile: true},
			&cli.BoolFlag{Name: "allow-hmac-sha1", Usage: "let the key sign with DXL-HMAC-SHA1 too (old systems only)"},
			jsonFlag()},
		Action: func(c *cli.Context) error {
			req := auth.NewAccessKey{Subsystem: c.String("subsystem"), AllowSHA1: c.Bool("allow-hmac-sha1")}
			if f := c.String("rsa-public-key"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				req.RSAPublicKey = string(b)
			}
			var k auth.IssuedAccessKey
			if err := adminCall(c, http.MethodPost, "/v1/access-keys", req, &k); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, k)
			}
			fmt.Fprintf(c.App.Writer, "access key  %s\nsubsystem   %s\nkind        %s\n", k.AccessKey, k.Subsystem, k.Kind)
			if k.Secret != "" {
				fmt.Fprintf(c.App.Writer, "secret key  %s   (shown once)\n", k.Secret)
			}
			return nil
		},
	}
}

func accessKeyList() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list access keys (never their secrets)",
		Flags: []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			var ks []auth.AccessKey
			if err := adminCall(c, http.MethodGet, "/v1/access-keys", nil, &ks); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, ks)
			}
			for _, k := range ks {
				state := "active"
				if !k.Revoked.IsZero() {
					state = "revoked " + k.Revoked.Format("2006-01-02")
				}
				sha1 := ""
				if k.AllowSHA1 {
					sha1 = "  hmac-sha1 allowed"
				}
				fmt.Fprintf(c.App.Writer, "%s  %-4s  %s  %s%s\n", k.ID, k.Kind, k.Subsystem, state, sha1)
			}
			return nil
		},
	}
}

func accessKeyRevoke() *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke an access key and its session keys (its secret is destroyed)",
		ArgsUsage: "ACCESS_KEY",
		Flags:     []cli.Flag{nodeDirFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			id, err := oneArg(c, "access key")
			if err != nil {
				return err
			}
			var k auth.AccessKey
			if err := adminCall(c, http.MethodDelete, "/v1/access-keys/"+id, nil, &k); err != nil {
				return err
			}
			if c.Bool("json") {
				return printJSON(c, k)
			}
			fmt.Fprintf(c.App.Writer, "revoked %s (%s)\n", k.ID, k.Subsystem)
			return nil
		},
	}
}
