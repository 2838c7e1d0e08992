package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/httpserve"
)

// Environment variables that carry passphrases for non-interactive use.
const (
	EnvPassphrase   = "DXL_PASSPHRASE"
	EnvCAPassphrase = "DXL_CA_PASSPHRASE"
)

// passphraseFlag is the --passphrase-file flag every key-owning command has.
func passphraseFlag(name, what string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Usage: "read the passphrase protecting " + what + " from `FILE` (first line)", TakesFile: true}
}

// passphrase returns a passphrase from the file named by flag, else from the
// first set environment variable in envs, else by prompting on the terminal
// (twice when confirm is set). It never echoes or logs the passphrase.
func passphrase(c *cli.Context, flag string, envs []string, what string, confirm bool) ([]byte, error) {
	if path := c.String(flag); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		line, _, _ := bytes.Cut(raw, []byte("\n"))
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", path)
		}
		return line, nil
	}
	for _, env := range envs {
		if v := os.Getenv(env); v != "" {
			return []byte(v), nil
		}
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, fmt.Errorf("no passphrase for %s: set %s or --%s", what, envs[0], flag)
	}
	fmt.Fprintf(os.Stderr, "Passphrase for %s: ", what)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprintf(os.Stderr, "Repeat passphrase: ")
		again, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(p, again) {
			return nil, errors.New("passphrases do not match")
		}
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	return p, nil
}

// jsonFlag returns a new --json flag. Flags are made per command, never
// shared: urfave/cli keeps parse state in the flag value.
func jsonFlag() cli.Flag { return &cli.BoolFlag{Name: "json", Usage: "print the result as JSON"} }

// printJSON writes v as indented JSON to the command's stdout.
func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// logger builds the slog logger from the global flags.
func logger(c *cli.Context) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	var w io.Writer = c.App.ErrWriter
	if w == nil {
		w = os.Stderr
	}
	if c.Bool("log-json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// caAuthority is what the CLI needs of a CA: the CA itself when this process
// can open the directory, or a client of the `dxl ca serve` holding it.
type caAuthority interface {
	Issue(ctx context.Context, req ca.IssueRequest) (*ca.Issued, error)
	Revoke(ctx context.Context, serial string, reason ca.Reason) (*ca.Record, error)
	Get(ctx context.Context, serial string) (*ca.Record, error)
	List(ctx context.Context, status string) ([]ca.Record, error)
	CRL(ctx context.Context) ([]byte, error)
	Close() error
}

// openCA returns a client of the CA server running on dir if there is one,
// else opens dir itself (asking for the passphrase only then).
func openCA(c *cli.Context, dir string, pass func() ([]byte, error)) (caAuthority, error) {
	if dir == "" {
		return nil, errors.New("missing --dir (or --ca-dir): the CA directory")
	}
	if client, err := ca.Dial(c.Context, dir); err == nil {
		return client, nil
	} else if !errors.Is(err, ca.ErrNotServing) {
		return nil, err
	}
	p, err := pass()
	if err != nil {
		return nil, err
	}
	return ca.Open(dir, p, ca.WithLogger(logger(c)))
}

// server is one HTTP server to run until the context ends.
type server struct {
	name string
	srv  *http.Server
	ln   net.Listener
}

// newHTTPServer returns an http.Server with DXL's limits (internal/httpserve);
// serve caps its TCP connections per client IP.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return httpserve.New(h, serverLimits("", log))
}

// serverLimits are the limits of the CLI's long-lived servers (CA, TSA).
func serverLimits(name string, log *slog.Logger) httpserve.Config {
	return httpserve.Config{Name: name, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10, Logger: log}
}

// serve runs every server until ctx ends (SIGINT/SIGTERM) or one fails, then
// shuts all of them down gracefully.
func serve(ctx context.Context, log *slog.Logger, servers ...server) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		log.Info("listening", "server", s.name, "addr", s.ln.Addr().String())
		if s.ln.Addr().Network() == "tcp" { // not the owner-only Unix sockets
			s.ln = httpserve.Listen(s.ln, serverLimits(s.name, log), nil)
		}
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		s.srv.Shutdown(shutCtx)
	}
	log.Info("stopped")
	return err
}

// openInput opens a file argument, "-" meaning standard input.
func openInput(c *cli.Context, path string) (io.ReadCloser, error) {
	if path != "-" {
		return os.Open(path)
	}
	if c.App.Reader != nil {
		return io.NopCloser(c.App.Reader), nil
	}
	return io.NopCloser(os.Stdin), nil
}

// readInput reads a file argument, "-" meaning standard input, with a cap.
func readInput(c *cli.Context, path string, limit int64) ([]byte, error) {
	r, err := openInput(c, path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return data, nil
}

// writeOutput writes data to path ("-" for stdout), refusing to overwrite
// unless force is set.
func writeOutput(c *cli.Context, path string, data []byte, mode os.FileMode, force bool) error {
	if path == "-" {
		_, err := c.App.Writer.Write(data)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists (use --force to overwrite)", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// listen opens a TCP listener with an error that names the address.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// pemCert encodes one DER certificate as PEM.
func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
