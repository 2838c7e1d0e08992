package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/tsa"
)

func devCommand() *cli.Command {
	return &cli.Command{
		Name:  "dev",
		Usage: "run only a CA and a TSA on 127.0.0.1 for PKI experiments ('dxl demo' runs a whole network)",
		Description: `Creates, on first run, a CA and a TSA under --dir and serves them on
loopback until Ctrl-C. Later runs reuse the directory. The keys are sealed
with $DXL_PASSPHRASE, or with a random passphrase kept in DIR/passphrase:
this is a development setup, not a production one.

Example:
   go run . dev
   # in another terminal:
   curl -s http://127.0.0.1:8081/root.pem
   dxl tsa stamp --url http://127.0.0.1:8080/ README.md
   dxl tsa verify README.md README.md.tsr --root dxl-dev/ca/root.pem`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "dxl-dev", Usage: "directory for the development network's state"},
			&cli.StringFlag{Name: "instance", Value: "VN-TEST", Usage: "instance code on first run"},
			&cli.StringFlag{Name: "ca-listen", Value: "127.0.0.1:8081", Usage: "CA address (OCSP, CRL)"},
			&cli.StringFlag{Name: "tsa-listen", Value: "127.0.0.1:8080", Usage: "TSA address (RFC 3161)"},
		},
		Action: func(c *cli.Context) error {
			log := logger(c)
			dir := c.String("dir")
			pass, err := devPassphrase(dir)
			if err != nil {
				return err
			}
			caDir, tsaDir := filepath.Join(dir, "ca"), filepath.Join(dir, "tsa")

			authority, err := ca.Open(caDir, pass, ca.WithLogger(log))
			if errors.Is(err, ca.ErrNotFound) {
				authority, err = ca.Init(caDir, ca.Config{Instance: c.String("instance"), PublicURL: "http://" + c.String("ca-listen")}, pass, ca.WithLogger(log))
			}
			if err != nil {
				return err
			}
			defer authority.Close()

			if _, err := os.Stat(filepath.Join(tsaDir, tsa.KeyFile)); errors.Is(err, fs.ErrNotExist) {
				err = tsa.Init(c.Context, tsaDir, pass, func(ctx context.Context, csr []byte) ([]*x509.Certificate, error) {
					issued, err := authority.Issue(ctx, ca.IssueRequest{CSR: csr, Profile: ca.ProfileTSA})
					if err != nil {
						return nil, err
					}
					return issued.Chain, nil
				})
				if err != nil {
					return err
				}
			}
			stamper, closer, err := tsa.Open(tsaDir, pass, tsa.WithLogger(log))
			if err != nil {
				return err
			}
			defer closer.Close()

			adminLn, err := authority.ListenAdmin()
			if err != nil {
				return err
			}
			defer os.Remove(adminLn.Addr().String())
			caLn, err := listen(c.String("ca-listen"))
			if err != nil {
				adminLn.Close()
				return err
			}
			tsaLn, err := listen(c.String("tsa-listen"))
			if err != nil {
				adminLn.Close()
				caLn.Close()
				return err
			}
			fmt.Fprintf(c.App.Writer, `DXL development network (state in %[1]s)
  CA   http://%[2]s   OCSP /ocsp, CRL /crl, /root.pem; admin socket %[1]s/ca/ca.sock
  TSA  http://%[3]s/  RFC 3161
Try:
  openssl ts -query -data README.md -sha256 -cert -out q.tsq
  curl -s -H 'Content-Type: application/timestamp-query' --data-binary @q.tsq http://%[3]s/ -o r.tsr
  openssl ts -verify -data README.md -in r.tsr -CAfile %[1]s/ca/root.pem -untrusted %[1]s/ca/intermediate.pem
  curl -s --unix-socket %[1]s/ca/ca.sock http://ca/v1/certificates
Ctrl-C stops.
`, dir, caLn.Addr(), tsaLn.Addr())
			return serve(c.Context, log,
				server{name: "ca-public", srv: newHTTPServer(authority.PublicHandler(), log), ln: caLn},
				server{name: "ca-admin", srv: newHTTPServer(authority.AdminHandler(), log), ln: adminLn},
				server{name: "tsa", srv: newHTTPServer(tsaMux(stamper), log), ln: tsaLn})
		},
	}
}

// devPassphrase returns $DXL_PASSPHRASE, else the passphrase kept in
// DIR/passphrase, creating a random one on first use.
func devPassphrase(dir string) ([]byte, error) {
	if p := os.Getenv(EnvPassphrase); p != "" {
		return []byte(p), nil
	}
	path := filepath.Join(dir, "passphrase")
	if p, err := os.ReadFile(path); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	rand.Read(b)
	p := []byte(hex.EncodeToString(b))
	if err := os.WriteFile(path, p, 0o600); err != nil {
		return nil, err
	}
	return p, nil
}
