package cli

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/tsa"
)

// operatorSide starts what --ca-listen and --tsa-listen ask for beside a
// registry server: the CA's OCSP and CRL, the TSA of R/tsa. The channel
// yields when one of them stops with an error; they stop with c's context.
func operatorSide(c *cli.Context, r *membership.Registry, dir string, pass []byte) (<-chan error, error) {
	log := logger(c)
	var servers []server
	var closers []io.Closer
	if addr := c.String("ca-listen"); addr != "" {
		ln, err := listen(addr)
		if err != nil {
			return nil, fmt.Errorf("--ca-listen: %w", err)
		}
		servers = append(servers, server{name: "ca-public", srv: newHTTPServer(r.CA().PublicHandler(), log), ln: ln})
		fmt.Fprintf(c.App.Writer, "CA OCSP and CRL on http://%s\n", ln.Addr())
	}
	if addr := c.String("tsa-listen"); addr != "" {
		a, closer, err := tsa.Open(filepath.Join(dir, membership.DirTSA), pass, tsa.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("--tsa-listen: the TSA of %s: %w (create it with dxl registry init --tsa)", filepath.Join(dir, membership.DirTSA), err)
		}
		closers = append(closers, closer) // once its server has stopped: no request uses its serials then
		ln, err := listen(addr)
		if err != nil {
			closer.Close()
			return nil, fmt.Errorf("--tsa-listen: %w", err)
		}
		servers = append(servers, server{name: "tsa", srv: newHTTPServer(tsaMux(a), log), ln: ln})
		fmt.Fprintf(c.App.Writer, "TSA on http://%s\n", ln.Addr())
	}
	errc := make(chan error, 1)
	if len(servers) > 0 {
		go func() {
			err := serve(c.Context, log, servers...)
			for _, cl := range closers {
				_ = cl.Close()
			}
			if err != nil && c.Context.Err() == nil {
				errc <- err
			}
		}()
	}
	return errc, nil
}
