package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/audit"
	"github.com/dxl-network/dxl/internal/httpserve"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/alert"
	"github.com/dxl-network/dxl/node/auth"
	"github.com/dxl-network/dxl/node/confsync"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/consumer"
	"github.com/dxl-network/dxl/node/delivery"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/node/provider"
	"github.com/dxl-network/dxl/node/replay"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

// CallProtocol is the libp2p protocol of synchronous calls.
const CallProtocol = transport.CallProtocol

// Option configures Open.
type Option func(*options)

type options struct {
	log      *slog.Logger
	now      func() time.Time
	confOpts []globalconf.Option
	apiLn    net.Listener
	noLogs   bool
	deliv    []func(*delivery.Config)
	gate     func(peer.ID) bool
	tap      func(network.Stream) network.Stream
}

// WithLogger sets the logger (component=node is added).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock replaces time.Now (envelopes, skew checks, configuration age).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithGlobalConfigOptions passes options to the global configuration client.
func WithGlobalConfigOptions(opts ...globalconf.Option) Option {
	return func(o *options) { o.confOpts = append(o.confOpts, opts...) }
}

// WithoutLogs leaves calls out of the message log and the operational
// records. It exists to measure what logging costs the data path
// (BenchmarkCall); a node run by the CLI always logs.
func WithoutLogs() Option { return func(o *options) { o.noLogs = true } }

// WithPeerGate adds gate to the connection gate, for tests: a peer it
// refuses is neither dialled nor accepted (with Host().Network().ClosePeer,
// a network partition).
func WithPeerGate(gate func(peer.ID) bool) Option { return func(o *options) { o.gate = gate } }

// WithCallTap wraps the streams of this node's outgoing calls with tap,
// for tests: what the node writes and reads inside the libp2p channel.
func WithCallTap(tap func(network.Stream) network.Stream) Option {
	return func(o *options) { o.tap = tap }
}

// WithAPIListener serves the consumer API on ln instead of cfg.APIListen.
func WithAPIListener(ln net.Listener) Option { return func(o *options) { o.apiLn = ln } }

// Node is one running DXL node: the libp2p host toward other nodes, the
// consumer HTTPS API for the agency's information systems, and the provider
// side that serves its own services to other nodes.
type Node struct {
	dir    string
	cfg    *Config
	member ident.Member
	log    *slog.Logger
	now    func() time.Time

	id     *identity
	signer *envelope.Signer
	conf   *globalconf.Client
	cur    atomic.Pointer[confview.View]
	host   *transport.Host
	relay  atomic.Pointer[confsync.Relay] // the configuration relay between nodes
	self   string                         // the host's peer ID, text form
	replay *replay.Guard
	db     *bolt.DB
	auth   *auth.Authority
	keys   *auth.AccessKeys // signed access keys (accesskeys_admin.go)
	alerts *alert.Detector
	clocks peerClocks // the other nodes' clocks, from their envelopes

	journal *wal.Log       // logging.go
	siem    *siem.Exporter // nil without node.json siem
	msglog  *msglog.Log
	records *oprec.Store
	audit   *audit.Log
	logs    *exchange.Logs // msglog and records, or exchange.NoLogs
	metrics *http.Server
	httpm   *httpserve.Metrics // connections the API's caps refused

	prov     *provider.Provider
	cons     *consumer.API
	deliv    *delivery.Service
	delivm   *delivery.Metrics // built with the records' registry, before deliv
	limitKey atomic.Value      // services.Limits the limiter was built with
	lgsp     *services.LGSPMap
	clients  map[string]string // TLS client cert SHA-256 -> subsystem
	accessMu sync.Mutex        // serialises access-right changes (access_admin.go)

	api     *http.Server
	apiLn   net.Listener
	admin   *http.Server
	adminLn net.Listener
	life    context.Context // cancelled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closed  atomic.Bool
}

// Open loads the node in dir (keys sealed with passphrase), verifies the
// cached global configuration if there is one, and starts: the libp2p host,
// the call handler, the consumer API and the configuration refresh.
func Open(ctx context.Context, dir string, passphrase []byte, opts ...Option) (_ *Node, err error) {
	o := options{log: slog.Default(), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	member, _ := ident.ParseMember(cfg.Member, "")
	n := &Node{dir: dir, cfg: cfg, member: member, now: o.now,
		log: o.log.With("component", "node"), clients: map[string]string{}, httpm: httpserve.NewMetrics()}
	// The node's lifetime: Close cancels it, and with it every backend
	// call in flight and every loop.
	n.life, n.cancel = context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	if err := n.openStores(passphrase, &o); err != nil {
		return nil, err
	}
	if err := n.openServices(); err != nil {
		return nil, err
	}
	if err := n.openDelivery(passphrase, &o); err != nil {
		return nil, err
	}
	if err := n.startP2P(&o); err != nil {
		return nil, err
	}
	if err := n.startServers(&o); err != nil {
		return nil, err
	}
	n.log.Info("node started", "member", cfg.Member, "peer_id", n.host.ID().String(),
		"p2p", fmt.Sprint(n.host.Addrs()), "api", "https://"+n.apiLn.Addr().String())
	return n, nil
}

// openStores loads the keys and opens the configuration client, the
// database, the token authority and the logs.
func (n *Node) openStores(passphrase []byte, o *options) (err error) {
	if n.id, err = loadIdentity(n.dir, passphrase); err != nil {
		return err
	}
	if n.signer, err = envelope.NewSigner(n.id.signer, n.id.signChain[0]); err != nil {
		return err
	}
	n.signer.Now = o.now
	anchor, err := globalconf.LoadAnchor(filepath.Join(n.dir, FileAnchor))
	if err != nil {
		return err
	}
	copts := append([]globalconf.Option{globalconf.WithLogger(o.log), globalconf.WithClock(o.now),
		globalconf.WithOnUpdate(n.onConfig), globalconf.WithLongPoll(globalconf.DefaultLongPoll)}, o.confOpts...)
	if n.conf, err = globalconf.NewClient(anchor, n.dir, copts...); err != nil {
		return err
	}
	if n.db, err = bolt.Open(filepath.Join(n.dir, FileDB), 0o600, &bolt.Options{Timeout: time.Second}); err != nil {
		return fmt.Errorf("%w: %s: %v (is the node already running?)", ErrConfig, FileDB, err)
	}
	store, err := auth.NewBoltStore(n.db)
	if err != nil {
		return err
	}
	if n.cfg.SIEM.Enabled() {
		if n.siem, err = siem.New(n.cfg.SIEM, "dxl-node", n.log); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	if n.auth, err = auth.New(auth.Config{NodeID: n.member.String(), Key: n.id.tokenKey, Store: store, Now: o.now, Logger: o.log,
		OnFailure: n.tokenFailure}); err != nil {
		return err
	}
	if n.alerts, err = alert.New(n.life, n.cfg.Alerts, n.member.String(), o.now, o.log); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := n.openAccessKeys(passphrase); err != nil {
		return err
	}
	return n.openLogs(passphrase, o.noLogs)
}

// openServices compiles the pinned clients, the provided services and
// their policy, and the durable replay guard.
func (n *Node) openServices() (err error) {
	for _, c := range n.cfg.Clients {
		n.clients[c.CertSHA256] = c.Subsystem
	}
	if n.replay, err = replay.Open(n.db, confview.ReplayWindow, 0, n.now, replay.WithJournal(n.journal.Stream(journalReplay))); err != nil {
		return fmt.Errorf("%w: replay guard: %v", ErrConfig, err)
	}
	pid, err := ca.PeerIDFromKey(n.id.authKey.Public())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	n.self = pid.String()
	if err := os.MkdirAll(n.spoolDir(), 0o700); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	n.prov, err = provider.New(provider.Config{Dir: n.dir, Services: n.cfg.Services, Access: n.cfg.Access, Masks: n.cfg.masker, XSDValidator: n.cfg.XSDValidator,
		MaxBody: n.cfg.MaxBody, SpoolDir: n.spoolDir(), CallTimeout: time.Duration(n.cfg.CallTimeout), HealthInterval: time.Duration(n.cfg.Records.HealthInterval),
		Views: views{n}, Signer: n.signer, Replay: n.replay, Dialer: dialer{n}, Logs: n.logs, Health: n.records,
		Self: n.self, Member: n.member.String(),
		Life: n.life, Now: n.now, Logger: n.log})
	if err != nil {
		return err
	}
	if n.lgsp, err = services.NewLGSPMap(n.cfg.LGSP); err != nil {
		return fmt.Errorf("%w: lgsp: %v", ErrConfig, err)
	}
	return nil
}

// startP2P starts the libp2p host and its protocol handlers.
func (n *Node) startP2P(o *options) (err error) {
	// A stream holds a body whole only up to exchange.MaxWholeBody; larger
	// ones stream.
	admit := n.admits
	if o.gate != nil {
		admit = func(p peer.ID) bool { return o.gate(p) && n.admits(p) }
	}
	if n.host, err = transport.New(transport.Config{Key: n.id.authKey, Listen: n.cfg.P2PListen, Admit: admit,
		MaxBody: min(n.cfg.MaxBody, exchange.MaxWholeBody), Logger: o.log, Now: o.now}); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if self := n.host.ID().String(); self != n.self { // the sides were given the key's ID
		return fmt.Errorf("%w: host peer ID %s, key's %s", ErrConfig, self, n.self)
	}
	if doc, _, _ := n.conf.Current(); doc != nil && n.view() == nil {
		n.onConfig(doc) // the verified cache, even if too old to use: health reports it
	}
	n.host.Handle(CallProtocol, transport.ServiceCall, n.prov.HandleStream)
	n.host.Handle(ReconcileProtocol, transport.ServiceReconcile, n.handleReconcile)
	n.host.Handle(transport.ClaimProtocol, transport.ServiceClaim, n.prov.HandleClaim)
	n.host.Handle(transport.DeliverProtocol, transport.ServiceDeliver, n.deliv.HandleStream)
	relay, err := confsync.New(confsync.Config{Host: n.host, Instance: n.member.Instance, Conf: n.conf, Admit: n.admits, Logger: o.log})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	n.relay.Store(relay)
	return nil
}

// startServers opens the consumer API, the admin socket and the metrics
// endpoint, and starts every background loop.
func (n *Node) startServers(o *options) (err error) {
	n.apiLn = o.apiLn
	if n.apiLn == nil {
		if n.apiLn, err = net.Listen("tcp", n.cfg.APIListen); err != nil {
			return fmt.Errorf("%w: consumer API: %v", ErrConfig, err)
		}
	}
	n.cons = consumer.New(consumer.Config{Member: n.member, Self: n.self, Clients: n.clients, MaxBody: n.cfg.MaxBody, SpoolDir: n.spoolDir(),
		CallTimeout: time.Duration(n.cfg.CallTimeout), LGSP: n.lgsp, Views: views{n}, Dialer: tapped(n.host, o.tap), Signer: n.signer,
		Auth: n.auth, Keys: n.keys, Logs: n.logs, Health: health{n}, Now: n.now, Logger: n.log, IPRules: n.cfg.ipFilter, Alerts: n.alerts})
	served, err := n.withConsole(n.apiHandler()) // the web console under /console/
	if err != nil {
		return err
	}
	n.api = httpserve.New(served, n.cfg.apiServer(n.log))
	n.api.TLSConfig = n.apiTLS()
	n.apiLn = httpserve.Listen(n.apiLn, n.cfg.apiServer(n.log), n.httpm)
	if n.adminLn, err = listenAdmin(n.dir); err != nil {
		return fmt.Errorf("%w: admin socket: %v", ErrConfig, err)
	}
	n.admin = &http.Server{Handler: n.adminHandler(), ReadHeaderTimeout: 10 * time.Second, ConnContext: adminConnContext}
	if n.cfg.MetricsListen != "" {
		metricsLn, err := net.Listen("tcp", n.cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("%w: metrics: %v", ErrConfig, err)
		}
		n.metrics = n.metricsServer()
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.serveMetrics(metricsLn) }()
	}
	n.goRun(func() { _ = n.admin.Serve(n.adminLn) })
	n.goRun(func() { n.msglog.Run(n.life) })
	n.goRun(func() { n.prov.HealthLoop(n.life) })
	n.goRun(func() { n.pinLoop(n.life) })
	n.goRun(func() {
		if err := n.api.ServeTLS(n.apiLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("consumer API stopped", "error", err)
		}
	})
	n.goRun(func() { _ = n.conf.Run(n.life, time.Duration(n.cfg.ConfigInterval)) })
	n.goRun(func() { n.probeLoop(n.life) })
	n.goRun(func() { n.deliv.Run(n.life) })
	return nil
}

// goRun runs f in a goroutine Close waits for.
func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// Close stops the node.
func (n *Node) Close() error {
	if !n.closed.CompareAndSwap(false, true) {
		return nil
	}
	if n.cancel != nil {
		n.cancel()
	}
	if n.api != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.api.Shutdown(ctx)
		cancel()
	}
	if n.admin != nil {
		_ = n.admin.Close()
		_ = os.Remove(filepath.Join(n.dir, FileAdminSocket))
	}
	if n.metrics != nil {
		_ = n.metrics.Close()
	}
	if r := n.relay.Load(); r != nil {
		r.Close()
	}
	if n.host != nil {
		n.host.Unhandle(CallProtocol)
		n.host.Unhandle(ReconcileProtocol)
		n.host.Unhandle(transport.ClaimProtocol)
		n.host.Unhandle(transport.DeliverProtocol)
		_ = n.host.Close()
	}
	n.wg.Wait()
	n.closeLogs()
	if n.replay != nil {
		n.replay.Close()
	}
	if n.deliv != nil {
		_ = n.deliv.Store().Close()
	}
	if n.journal != nil {
		_ = n.journal.Close()
	}
	_ = n.siem.Close()
	if n.conf != nil {
		n.conf.Close()
	}
	if n.db != nil {
		_ = n.db.Close()
	}
	return nil
}

// PeerID is this node's libp2p peer ID.
func (n *Node) PeerID() peer.ID { return n.host.ID() }

// Member is this node's member.
func (n *Node) Member() ident.Member { return n.member }

// APIAddr is the consumer API's address.
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// Auth is the token authority of the consumer API (credentials for
// information systems).
func (n *Node) Auth() *auth.Authority { return n.auth }

// ConfigVersion is the version of the configuration in use (0: none).
func (n *Node) ConfigVersion() uint64 {
	if v := n.view(); v != nil {
		return v.Doc().Version
	}
	return 0
}

// RefreshConfig fetches the global configuration now.
func (n *Node) RefreshConfig(ctx context.Context) error {
	_, err := n.conf.Fetch(ctx)
	return err
}

func (n *Node) view() *confview.View { return n.cur.Load() }

// views gives the rooms the node's configuration.
type views struct{ n *Node }

func (v views) Latest() *confview.View                          { return v.n.view() }
func (v views) Current() (*confview.View, error)                { return v.n.current() }
func (v views) Usable(c *confview.View) (*confview.View, error) { return v.n.usable(c) }

// dialer opens the provider's streams to the member's other nodes (the
// host starts after the provider is built).
type dialer struct{ n *Node }

func (d dialer) NewStream(ctx context.Context, p peer.ID, proto protocol.ID, service string) (network.Stream, error) {
	return d.n.host.NewStream(ctx, p, proto, service)
}

func (d dialer) Suspect(p peer.ID) bool { return d.n.host.Suspect(p) }

// tapDialer is the host with WithCallTap's tap on its call streams.
type tapDialer struct {
	*transport.Host
	tap func(network.Stream) network.Stream
}

func tapped(h *transport.Host, tap func(network.Stream) network.Stream) consumer.Dialer {
	if tap == nil {
		return h
	}
	return tapDialer{h, tap}
}

func (d tapDialer) NewStream(ctx context.Context, p peer.ID, proto protocol.ID, service string) (network.Stream, error) {
	s, err := d.Host.NewStream(ctx, p, proto, service)
	if err != nil {
		return nil, err
	}
	return d.tap(s), nil
}

// current returns the view the data path may use: none past the
// configuration's maximum age (policy.max_config_age, generous by design),
// so a node cut off from every registry server for that long stops
// exchanging rather than trusting stale revocations.
func (n *Node) current() (*confview.View, error) { return n.usable(n.view()) }

// usable returns v if the data path may use it (see current).
func (n *Node) usable(v *confview.View) (*confview.View, error) {
	if v == nil {
		return nil, ErrNoConfig
	}
	if _, _, err := n.conf.Current(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoConfig, err)
	}
	return v, nil
}

// onConfig installs a newly accepted configuration.
func (n *Node) onConfig(doc *globalconf.Document) {
	v, err := confview.New(doc)
	if err != nil {
		n.log.Error("configuration not usable", "version", doc.Version, "error", err)
		return
	}
	n.cur.Store(v)
	n.accessMu.Lock() // the admin API changes rate_limits under it
	rl := n.cfg.RateLimits
	n.accessMu.Unlock()
	n.rebuildLimiter(doc.Policy, rl, false)
	n.prov.CheckSchemas(v)
	if n.host != nil {
		n.applyPeers(v)
	}
	if r := n.relay.Load(); r != nil {
		r.Updated() // relay it to the other nodes unless it came from them
	}
	n.log.Info("global configuration in use", "version", doc.Version, "nodes", len(doc.Nodes), "services", len(doc.Services))
}

// rebuildLimiter installs a limiter of cfg (node.json's rate limits) with
// the policy's defaults where cfg sets none: when those defaults change,
// or always with force (the overrides changed).
func (n *Node) rebuildLimiter(p globalconf.Policy, cfg services.RateLimitConfig, force bool) {
	if cfg.Defaults.ReadsPerMin == 0 {
		cfg.Defaults.ReadsPerMin = p.RateLimitReadsPerMin
	}
	if cfg.Defaults.WritesPerMin == 0 {
		cfg.Defaults.WritesPerMin = p.RateLimitWritesPerMin
	}
	if old, ok := n.limitKey.Load().(services.Limits); ok && old == cfg.Defaults && !force {
		return
	}
	l, err := services.NewLimiter(cfg, services.WithClock(n.now))
	if err != nil {
		n.log.Error("rate limits not usable", "error", err)
		return
	}
	n.prov.Gate().SetLimiter(l)
	n.limitKey.Store(cfg.Defaults)
}

func (n *Node) probeLoop(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		n.probe(ctx)
		n.limiterSweep()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) limiterSweep() {
	if l := n.prov.Gate().Limiter(); l != nil {
		l.Sweep()
	}
}

// apiTLS is the consumer API's TLS: 1.2 or later, the node's API
// certificate, and client certificates requested but optional (an
// information system pinned in node.json may use one instead of a token).
func (n *Node) apiTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{n.id.apiCert},
		ClientAuth:   tls.RequestClientCert,
		// Pinned by fingerprint, not chained: information systems' certificates
		// are usually self-signed, as in X-Road.
		VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return nil },
	}
}

// Host is the node's libp2p host.
func (n *Node) Host() host.Host { return n.host.Lib() }

// Addrs are the node's libp2p listen addresses.
func (n *Node) Addrs() []ma.Multiaddr { return n.host.Addrs() }

// spoolDir holds the bodies the node is signing or forwarding, past their
// first MiB (internal/spool: unnamed files, encrypted with keys that exist
// only in memory; nothing of them survives the node).
func (n *Node) spoolDir() string { return filepath.Join(n.dir, "spool") }
