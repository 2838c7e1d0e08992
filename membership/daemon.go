package membership

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dxl-network/dxl/internal/jsonin"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/fsutil"
	"github.com/dxl-network/dxl/internal/httpserve"
	"github.com/dxl-network/dxl/internal/keystore"
	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/internal/webui"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/console"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

// Files of a registry server directory R.
const (
	FileRegistry   = "registry.json" // RegistryFile
	FileServerKey  = "server.key"    // sealed TLS key (API, forwarding, Raft)
	FileServerCert = "server.pem"    // registry-server certificate, intermediate, root
	FileConfigKey  = "config.key"    // sealed registry-config signing key
	FileConfigCert = "config.pem"    // registry-config certificate, intermediate
	DirCA          = "ca"            // the CA directory (a copy on joiners)
	DirTSA         = "tsa"           // first server only, optional
	DirRaft        = "raft"          // Raft log, stable store, snapshots
	FileAnchor     = globalconf.AnchorFile
	FileConsole    = "console.db" // the web console's accounts (bbolt)
)

// RegistryFile is R/registry.json: who this server is and where it listens.
type RegistryFile struct {
	Format   int    `json:"format"`
	ID       string `json:"id"`
	Instance string `json:"instance"`
	// RaftListen is the Raft (mutual TLS) listen address; RaftAdvertise
	// the address other servers dial (default RaftListen).
	RaftListen    string `json:"raft_listen"`
	RaftAdvertise string `json:"raft_advertise,omitempty"`
	// APIListen is the HTTPS API listen address; APIURLs the URLs it is
	// reached at, the first recorded in the registry state.
	APIListen string   `json:"api_listen"`
	APIURLs   []string `json:"api_urls"`
	// JoinURL is the server that admitted this one with a join token; a
	// server without Raft state asks it (or the leader it names) to add it
	// as a voter.
	JoinURL string `json:"join_url,omitempty"`
	// RegistrationLimits limit the anonymous POST /v1/registrations per
	// remote address (defaults: 2 a minute, burst 5, 3 pending).
	RegistrationLimits api.IntakeConfig `json:"registration_limits,omitzero"`
	// Console configures the web console under /console/ on the API
	// listener (docs/console.md).
	Console ConsoleConfig `json:"console,omitzero"`
	// SIEM exports the history's entries and refused operator tokens as
	// audit and security events (docs/registry.md, "SIEM export").
	SIEM siem.Config `json:"siem,omitzero"`
}

// ConsoleConfig configures a registry server's web console: its session
// and lockout limits (webui.Config, defaults there), or none at all.
type ConsoleConfig struct {
	Disabled bool `json:"disabled,omitempty"`
	webui.Config
}

func (f *RegistryFile) raftAdvertise() string {
	if f.RaftAdvertise != "" {
		return f.RaftAdvertise
	}
	return f.RaftListen
}

func (f *RegistryFile) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", state.ErrBadConfig, FileRegistry, fmt.Sprintf(format, a...))
	}
	if f.Format != 1 {
		return bad("format %d, want 1", f.Format)
	}
	if f.ID == "" || f.Instance == "" || f.RaftListen == "" || f.APIListen == "" || len(f.APIURLs) == 0 {
		return bad("id, instance, raft_listen, api_listen and api_urls are required")
	}
	for _, u := range f.APIURLs {
		if !strings.HasPrefix(u, "https://") {
			return bad("API URL %q is not https", u)
		}
	}
	if err := f.RegistrationLimits.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := f.Console.Validate(); err != nil {
		return bad("console: %v", err)
	}
	if err := f.SIEM.Validate(); err != nil {
		return bad("siem: %v", err)
	}
	return nil
}

// ReadRegistryFile reads R/registry.json.
func ReadRegistryFile(dir string) (*RegistryFile, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileRegistry))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s holds no registry server (%s missing)", state.ErrBadConfig, dir, FileRegistry)
	} else if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	var f RegistryFile
	if err := jsonin.DecodeFile(FileRegistry, raw, &f); err != nil {
		return nil, fmt.Errorf("%w: %v", state.ErrBadConfig, err)
	}
	return &f, f.validate()
}

func writeRegistryFile(dir string, f *RegistryFile) error {
	if err := f.validate(); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(f, "", "  ")
	return fsutil.WriteNew(filepath.Join(dir, FileRegistry), append(b, '\n'), 0o600)
}

// Registry is one registry server process assembled from its directory:
// Raft over mutual TLS, the HTTPS API with the HTTP forwarder, the join
// workflow, the Publisher and the CA sync.
type Registry struct {
	dir  string
	file *RegistryFile
	log  *slog.Logger

	srv      *store.Server
	live     atomic.Pointer[store.Server] // srv, once started: read by the Raft TLS checks
	api      *api.API
	console  *console.Console
	ca       *ca.CA
	pub      *Publisher
	sync     *CASync
	siem     *siem.Exporter // nil without registry.json siem
	history  *HistorySIEM
	http     *http.Server
	apiLn    net.Listener
	serveErr chan error

	root, inter *x509.Certificate
	interKey    crypto.Signer
	caConfig    []byte
	cfgKey      crypto.Signer
	cfgChain    []*x509.Certificate
	tlsCert     tls.Certificate
	roots       *x509.CertPool

	stopJoin  context.CancelFunc
	joinDone  chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// RegistryOption configures Open.
type RegistryOption func(*registryOptions)

type registryOptions struct {
	log  *slog.Logger
	raft func(*store.Config)
}

// WithRegistryLogger sets the logger of every part.
func WithRegistryLogger(l *slog.Logger) RegistryOption {
	return func(o *registryOptions) { o.log = l }
}

// WithRaftConfig adjusts the Raft configuration (timing, NoSync in tests).
func WithRaftConfig(f func(*store.Config)) RegistryOption {
	return func(o *registryOptions) { o.raft = f }
}

// Open starts the registry server in dir with the keys sealed under
// passphrase. A server that has no Raft state and was admitted with a join
// token (JoinURL) asks to be added as a voter in the background until it
// is. Close stops everything.
func Open(ctx context.Context, dir string, passphrase []byte, opts ...RegistryOption) (_ *Registry, err error) {
	o := registryOptions{log: slog.Default()}
	for _, f := range opts {
		f(&o)
	}
	file, err := ReadRegistryFile(dir)
	if err != nil {
		return nil, err
	}
	r := &Registry{dir: dir, file: file, log: o.log.With("component", "registry_daemon", "server_id", file.ID),
		serveErr: make(chan error, 1), joinDone: make(chan struct{})}
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	if err := r.loadKeys(passphrase); err != nil {
		return nil, err
	}
	if r.ca, err = ca.Open(filepath.Join(dir, DirCA), passphrase, ca.WithLogger(o.log)); err != nil {
		return nil, fmt.Errorf("membership: CA: %w", err)
	}
	closers = append(closers, func() { r.ca.Close() })

	if err := r.startRaft(o); err != nil {
		return nil, err
	}
	closers = append(closers, func() { r.srv.Close() })
	if err := r.startObservers(); err != nil {
		return nil, err
	}
	closers = append(closers, r.pub.Close, r.sync.Close)
	if err := r.startSIEM(); err != nil {
		return nil, err
	}
	closers = append(closers, r.stopSIEM)
	r.api = api.New(r.srv, api.Config{CA: r.ca, Publisher: r.pub, Logger: o.log, Daemon: r, Intake: r.file.RegistrationLimits,
		Security: r.securityEvent})
	if err := r.serveAPI(o); err != nil {
		return nil, err
	}
	r.startJoin()
	r.log.Info("registry server running", "api", r.apiLn.Addr().String(), "raft", file.raftAdvertise(), "url", r.URL())
	return r, nil
}

// startRaft opens the Raft server over mutual TLS.
func (r *Registry) startRaft(o registryOptions) error {
	raftLn, err := tls.Listen("tcp", r.file.RaftListen, RaftServerTLS(r.tlsCert, r.roots, r.revoked))
	if err != nil {
		return fmt.Errorf("membership: raft listener: %w", err)
	}
	adv, err := net.ResolveTCPAddr("tcp", r.file.raftAdvertise())
	if err != nil || adv.IP == nil || adv.IP.IsUnspecified() || adv.Port == 0 {
		raftLn.Close()
		return fmt.Errorf("%w: raft advertise address %q is not dialable", state.ErrBadConfig, r.file.raftAdvertise())
	}
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: RaftClientTLS(r.tlsCert, r.roots, r.revoked)}
	trans := store.NewNetworkTransport(store.NewStreamLayer(raftLn, adv, dialer.DialContext), o.log.With("server_id", r.file.ID))
	cfg := store.Config{ID: r.file.ID, Dir: filepath.Join(r.dir, DirRaft), Transport: trans}
	if o.raft != nil {
		o.raft(&cfg)
		cfg.ID, cfg.Transport = r.file.ID, trans
	}
	if err := store.RecoverPeers(cfg, o.log.With("server_id", r.file.ID)); err != nil {
		trans.Close()
		return err
	}
	if r.srv, err = store.New(cfg, store.WithLogger(o.log), WithHTTPForwarder(client.ClientTLSConfig(r.tlsCert, r.roots))); err != nil {
		trans.Close()
		return err
	}
	r.live.Store(r.srv)
	return nil
}

// startObservers starts the publisher and the CA sync, which follow the
// state.
func (r *Registry) startObservers() (err error) {
	if r.pub, err = NewPublisher(r.srv, PublisherConfig{Key: r.cfgKey, Chain: r.cfgChain}); err != nil {
		return err
	}
	r.sync = NewCASync(r.srv, r.ca)
	return nil
}

// serveAPI serves the HTTP API over TLS.
func (r *Registry) serveAPI(o registryOptions) error {
	var err error
	if r.apiLn, err = net.Listen("tcp", r.file.APIListen); err != nil {
		return fmt.Errorf("membership: API listener: %w", err)
	}
	hc := httpserve.Config{Name: "registry_api", ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		MaxHeaderBytes: 16 << 10, Logger: o.log}
	h, err := r.handler(o)
	if err != nil {
		r.apiLn.Close()
		return err
	}
	r.http = httpserve.New(h, hc)
	r.http.TLSConfig = api.ServerTLSConfig(r.tlsCert, r.roots)
	r.apiLn = httpserve.Listen(r.apiLn, hc, nil)
	go func() {
		if err := r.http.ServeTLS(r.apiLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.serveErr <- err
		}
	}()
	return nil
}

// startJoin asks to be added as a voter when the server has no Raft state
// yet and joined with a token.
func (r *Registry) startJoin() {
	jctx, cancel := context.WithCancel(context.Background())
	r.stopJoin = cancel
	has, _ := r.srv.HasState()
	if !has && r.file.JoinURL != "" {
		go r.requestVoter(jctx)
	} else {
		close(r.joinDone)
	}
}

// loadKeys reads the sealed keys and certificates of the directory.
func (r *Registry) loadKeys(passphrase []byte) error {
	d := r.dir
	key, err := keystore.ReadFile(filepath.Join(d, FileServerKey), passphrase)
	if err != nil {
		return fmt.Errorf("membership: %s: %w", FileServerKey, err)
	}
	chain, err := readPEMCerts(filepath.Join(d, FileServerCert))
	if err != nil {
		return err
	}
	if len(chain) < 3 {
		return fmt.Errorf("%w: %s must hold the certificate, the intermediate and the root", state.ErrBadConfig, FileServerCert)
	}
	r.root, r.inter = chain[len(chain)-1], chain[1]
	r.roots = x509.NewCertPool()
	r.roots.AddCert(r.root)
	r.tlsCert = tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		r.tlsCert.Certificate = append(r.tlsCert.Certificate, c.Raw)
	}
	if r.cfgKey, err = keystore.ReadFile(filepath.Join(d, FileConfigKey), passphrase); err != nil {
		return fmt.Errorf("membership: %s: %w", FileConfigKey, err)
	}
	if r.cfgChain, err = readPEMCerts(filepath.Join(d, FileConfigCert)); err != nil {
		return err
	}
	if r.interKey, err = keystore.ReadFile(filepath.Join(d, DirCA, ca.FileIntermediateKey), passphrase); err != nil {
		return fmt.Errorf("membership: CA intermediate key: %w", err)
	}
	if r.caConfig, err = os.ReadFile(filepath.Join(d, DirCA, ca.FileConfig)); err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	return nil
}

// requestVoter asks JoinURL to add this server as a voter (a follower
// forwards the change to the leader), until it is in the configuration or ctx ends.
func (r *Registry) requestVoter(ctx context.Context) {
	defer close(r.joinDone)
	hc := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: client.ClientTLSConfig(r.tlsCert, r.roots)}}
	defer hc.CloseIdleConnections()
	wait := 200 * time.Millisecond
	for {
		err := postJSON(ctx, hc, strings.TrimRight(r.file.JoinURL, "/")+client.AddVoterPath, "", client.AddVoterRequest{ID: r.file.ID, RaftAddr: r.file.raftAdvertise()}, nil)
		if err == nil {
			r.log.Info("added to the cluster as a voter")
			return
		}
		r.log.Warn("asking to be added as a voter failed; retrying", "url", r.file.JoinURL, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Server returns the Raft server.
func (r *Registry) Server() *store.Server { return r.srv }

// CA is the server's copy of the network CA (OCSP and CRL; CASync keeps
// its database in step with the state).
func (r *Registry) CA() *ca.CA { return r.ca }

// ID returns the server ID.
func (r *Registry) ID() string { return r.file.ID }

// URL returns the first advertised API URL.
func (r *Registry) URL() string { return strings.TrimRight(r.file.APIURLs[0], "/") }

// APIAddr returns the address the API listens on.
func (r *Registry) APIAddr() string { return r.apiLn.Addr().String() }

// Err reports a failure of the API server (nil channel value while it runs).
func (r *Registry) Err() <-chan error { return r.serveErr }

// Close stops the join request, the API, the publisher, the CA sync, Raft
// and the CA, in that order.
func (r *Registry) Close() error {
	r.closeOnce.Do(func() {
		r.stopJoin()
		<-r.joinDone
		r.pub.Release() // held long-polls answer now, not at the shutdown's deadline
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.http.Shutdown(ctx); err != nil {
			r.http.Close()
		}
		r.pub.Close()
		r.sync.Close()
		r.stopSIEM()
		r.closeErr = r.srv.Close()
		if err := r.ca.Close(); r.closeErr == nil {
			r.closeErr = err
		}
		r.log.Info("registry server stopped")
	})
	return r.closeErr
}

// currentAnchor builds the anchor for a joiner: the registry servers the
// state knows plus extra.
func (r *Registry) currentAnchor(extra ...string) ([]byte, error) {
	var urls []string
	r.srv.Read(func(st *state.State) {
		for _, id := range state.SortedKeys(st.RegistryServers) {
			urls = append(urls, st.RegistryServers[id].URL)
		}
	})
	for _, u := range extra {
		if !contains(urls, u) {
			urls = append(urls, u)
		}
	}
	a, err := globalconf.NewAnchor(r.file.Instance, r.root, r.cfgChain[0], urls)
	if err != nil {
		return nil, err
	}
	return a.Marshal()
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ---- TLS between registry servers ----

// revoked reports whether the replicated state lists serial as revoked (a
// removed registry server's certificate is). Before the server has started,
// nothing is known to be revoked.
func (r *Registry) revoked(serial string) bool {
	s := r.live.Load()
	if s == nil {
		return false
	}
	var ok bool
	s.Read(func(st *state.State) { _, ok = st.Revoked[serial] })
	return ok
}

// verifyRegistryPeer checks that chain[0] chains to roots with usage, is a
// registry-server certificate and, when revoked is set, is not revoked.
func verifyRegistryPeer(certs []*x509.Certificate, roots *x509.CertPool, usage x509.ExtKeyUsage, revoked func(serial string) bool) error {
	if len(certs) == 0 {
		return errors.New("registry peer sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return err
	}
	if _, ok := ca.IsRegistryServer(certs[0]); !ok {
		return fmt.Errorf("certificate %q is not a registry server's", certs[0].Subject.CommonName)
	}
	if serial := ca.SerialHex(certs[0].SerialNumber); revoked != nil && revoked(serial) {
		return fmt.Errorf("registry server certificate %s is revoked", serial)
	}
	return nil
}

// RaftServerTLS is the TLS configuration of the Raft listener: the client
// must present a registry-server certificate chaining to roots and not
// revoked (revoked may be nil).
func RaftServerTLS(cert tls.Certificate, roots *x509.CertPool, revoked func(serial string) bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyRegistryPeer(cs.PeerCertificates, roots, x509.ExtKeyUsageClientAuth, revoked)
		},
	}
}

// RaftClientTLS is the TLS configuration Raft dials with: it presents cert
// and requires a registry-server certificate chaining to roots (the host
// name is not checked: peers are identified by the certificate profile).
func RaftClientTLS(cert tls.Certificate, roots *x509.CertPool, revoked func(serial string) bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyRegistryPeer(cs.PeerCertificates, roots, x509.ExtKeyUsageServerAuth, revoked)
		},
	}
}

func readPEMCerts(path string) ([]*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	return parsePEMCerts(raw, path)
}

func parsePEMCerts(raw []byte, what string) ([]*x509.Certificate, error) {
	certs, err := ca.ParseCertificates(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", state.ErrBadConfig, what, err)
	}
	return certs, nil
}

// WithHTTPForwarder makes the server forward writes to the leader over
// HTTPS, presenting clientTLS's certificate (the server's own, whose
// fingerprint is recorded in the state) and trusting the network CA roots
// in clientTLS.RootCAs.
func WithHTTPForwarder(clientTLS *tls.Config) store.Option {
	return func(s *store.Server) { store.WithForwarder(api.NewHTTPForwarder(s, clientTLS))(s) }
}
