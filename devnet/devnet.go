package devnet

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dxl-network/dxl/internal/httpserve"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/services"
	"github.com/dxl-network/dxl/tsa"
)

// Passphrase seals every key of a devnet: it is a throw-away network.
const Passphrase = "devnet-passphrase-not-secret"

// Options configures Start.
type Options struct {
	// Dir is the working directory (created; nothing outside it is written).
	Dir string
	// Instance is the instance code (default VN-DEMO).
	Instance string
	// Logger receives every component's logs (default: discarded).
	Logger *slog.Logger
	// ConfigInterval is how often nodes refresh the configuration
	// (default 2s).
	ConfigInterval time.Duration
	// FastRaft shortens Raft timeouts and skips fsync (tests).
	FastRaft bool
	// NodeOptions are passed to every node's Open.
	NodeOptions []node.Option
}

// Network is a running devnet.
type Network struct {
	Dir        string
	Instance   string
	Registry   *membership.Registry
	Admin      *client.Client
	AdminToken string
	Anchor     *globalconf.Anchor
	AnchorPath string
	TSAURL     string
	tsaAddr    string
	tsaHandler http.Handler
	tsaSrv     *http.Server

	opts    Options
	log     *slog.Logger
	mu      sync.Mutex
	closers []func()
}

// Start creates and starts the registry (with its CA and TSA).
func Start(ctx context.Context, o Options) (_ *Network, err error) {
	if o.Instance == "" {
		o.Instance = "VN-DEMO"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ConfigInterval <= 0 {
		o.ConfigInterval = 2 * time.Second
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	n := &Network{Dir: o.Dir, Instance: o.Instance, opts: o, log: o.Logger}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	raftAddr, apiAddr, tsaLn := freeAddr(), freeAddr(), mustListen()
	n.TSAURL = "http://" + tsaLn.Addr().String() + "/"
	regDir := filepath.Join(o.Dir, "registry")
	ropts := []membership.RegistryOption{membership.WithRegistryLogger(o.Logger)}
	if o.FastRaft {
		ropts = append(ropts, membership.WithRaftConfig(func(c *store.Config) {
			c.NoSync = true
			c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 150*time.Millisecond
		}))
	}
	res, err := membership.InitFirst(ctx, regDir, membership.InitOptions{Instance: o.Instance,
		ServerAddrs: membership.ServerAddrs{ID: "registry-1", RaftAddr: raftAddr, APIAddr: apiAddr, APIURL: "https://" + apiAddr,
			IPs: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}},
		Org: "DXL demo network operator", TSA: true, TSAURL: n.TSAURL,
		// Every agency of a demo network registers from loopback.
		RegistrationLimits: api.IntakeConfig{PerMinute: 6000, Burst: 1000, MaxPending: 1000}}, []byte(Passphrase), ropts...)
	if err != nil {
		tsaLn.Close()
		return nil, fmt.Errorf("registry init: %w", err)
	}
	n.AdminToken = res.AdminToken
	n.AnchorPath = res.Anchor

	stamper, tsaCloser, err := tsa.Open(filepath.Join(regDir, membership.DirTSA), []byte(Passphrase), tsa.WithLogger(o.Logger))
	if err != nil {
		tsaLn.Close()
		return nil, err
	}
	n.onClose(func() { tsaCloser.Close() })
	n.tsaAddr, n.tsaHandler = tsaLn.Addr().String(), stamper.Handler()
	n.tsaSrv = n.serve(tsaLn, n.tsaHandler)

	if n.Registry, err = membership.Open(ctx, regDir, []byte(Passphrase), ropts...); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	n.onClose(func() { n.Registry.Close() })
	if _, err := n.Registry.Server().WaitLeader(ctx); err != nil {
		return nil, err
	}
	if n.Anchor, err = globalconf.LoadAnchor(n.AnchorPath); err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, r := range n.Anchor.Roots {
		roots.AddCert(r)
	}
	if n.Admin, err = client.New(n.Anchor.Servers, client.WithRoots(roots), client.WithOperatorToken(n.AdminToken)); err != nil {
		return nil, err
	}
	n.onClose(n.Admin.Close)
	return n, nil
}

// Close stops everything in reverse order of start.
func (n *Network) Close() {
	n.mu.Lock()
	cl := n.closers
	n.closers = nil
	n.mu.Unlock()
	for i := len(cl) - 1; i >= 0; i-- {
		cl[i]()
	}
}

func (n *Network) onClose(f func()) {
	n.mu.Lock()
	n.closers = append(n.closers, f)
	n.mu.Unlock()
}

func (n *Network) serve(ln net.Listener, h http.Handler) *http.Server {
	srv := httpserve.New(h, httpserve.Config{Name: "devnet", Logger: n.log}) // no per-IP cap: every part is on loopback
	go func() { _ = srv.Serve(ln) }()
	n.onClose(func() { _ = srv.Close() })
	return srv
}

// StopTSA takes the TSA off the network (an outage); StartTSA brings it
// back on the same address.
func (n *Network) StopTSA() { _ = n.tsaSrv.Close() }

// StartTSA serves the TSA again after StopTSA.
func (n *Network) StartTSA() error {
	ln, err := net.Listen("tcp", n.tsaAddr)
	if err != nil {
		return err
	}
	n.tsaSrv = n.serve(ln, n.tsaHandler)
	return nil
}

// Agency describes a member to admit.
type Agency struct {
	Code      string // member code (INSTANCE/GOV/Code)
	Name      string
	Subsystem string
	// Configure, if set, edits the first node's configuration before it
	// starts (services, access rights, clients).
	Configure func(*node.Config)
	// Highest is the highest classification its registration (Form 01)
	// declares, which caps what it may publish; empty means secret.
	Highest state.Classification
}

// Member returns the agency's member ID in n.
func (n *Network) Member(a Agency) string { return n.Instance + "/GOV/" + a.Code }

// SubsystemID returns the agency's subsystem ID in n.
func (n *Network) SubsystemID(a Agency) string { return n.Member(a) + "/" + a.Subsystem }

// NodeHandle is a node of the devnet that can be stopped and started again.
type NodeHandle struct {
	Dir  string
	Node *node.Node
	net  *Network
}

// Stop stops the node (its directory stays).
func (h *NodeHandle) Stop() {
	if h.Node != nil {
		h.Node.Close()
		h.Node = nil
	}
}

// Restart starts a stopped node again from its directory, with opts
// after the network's NodeOptions.
func (h *NodeHandle) Restart(ctx context.Context, opts ...node.Option) error {
	h.Stop()
	nd, err := h.net.openNode(ctx, h.Dir, opts...)
	if err != nil {
		return err
	}
	h.Node = nd
	return nil
}

// Admit creates a node for a, submits its registration, has the operator
// approve it, installs the certificates and starts the node.
func (n *Network) Admit(ctx context.Context, a Agency) (*NodeHandle, error) {
	member := n.Member(a)
	dir := filepath.Join(n.Dir, strings.ToLower(a.Code))
	cfg := node.Config{Member: member, P2PListen: []string{"/ip4/127.0.0.1/tcp/" + port(freeAddr())},
		APIListen: "127.0.0.1:0", ConfigInterval: node.Duration(n.opts.ConfigInterval)}
	if a.Configure != nil {
		a.Configure(&cfg)
	}
	if _, err := node.Init(dir, cfg, node.InitOptions{Anchor: n.Anchor, Organization: a.Name}, []byte(Passphrase)); err != nil {
		return nil, err
	}
	form := sampleForm(a)
	st, err := node.Register(ctx, dir, n.Admin, form, []byte(Passphrase))
	if err != nil {
		return nil, fmt.Errorf("register %s: %w", member, err)
	}
	if _, err := n.Admin.Approve(ctx, st.RequestID); err != nil {
		return nil, fmt.Errorf("approve %s: %w", member, err)
	}
	return n.Enroll(ctx, a)
}

// Submit creates a node directory for a and submits its registration
// through the node's own registration call, leaving it pending for an
// operator (the console's queue); it returns the request ID.
func (n *Network) Submit(ctx context.Context, a Agency) (string, error) {
	member := n.Member(a)
	dir := filepath.Join(n.Dir, strings.ToLower(a.Code))
	cfg := node.Config{Member: member, P2PListen: []string{"/ip4/127.0.0.1/tcp/" + port(freeAddr())}, APIListen: "127.0.0.1:0"}
	if _, err := node.Init(dir, cfg, node.InitOptions{Anchor: n.Anchor, Organization: a.Name}, []byte(Passphrase)); err != nil {
		return "", err
	}
	st, err := node.Register(ctx, dir, n.Admin, sampleForm(a), []byte(Passphrase))
	if err != nil {
		return "", fmt.Errorf("register %s: %w", member, err)
	}
	return st.RequestID, nil
}

// Enroll installs the certificates of a's approved registration (Submit,
// then an operator's approval) in its node directory and starts the node.
func (n *Network) Enroll(ctx context.Context, a Agency) (*NodeHandle, error) {
	dir := filepath.Join(n.Dir, strings.ToLower(a.Code))
	if _, err := node.Enroll(ctx, dir, n.Admin, []byte(Passphrase), 10*time.Second); err != nil {
		return nil, fmt.Errorf("enroll %s: %w", n.Member(a), err)
	}
	return n.startNode(ctx, dir)
}

// NodeDir is the node directory of a (Submit, Admit).
func (n *Network) NodeDir(a Agency) string { return filepath.Join(n.Dir, strings.ToLower(a.Code)) }

// AddNode gives an admitted agency a further node (a replica with the same
// services and access rights as from), registered by the operator.
func (n *Network) AddNode(ctx context.Context, a Agency, from *NodeHandle, suffix string) (*NodeHandle, error) {
	cfg, err := node.LoadConfig(from.Dir)
	if err != nil {
		return nil, err
	}
	cfg.P2PListen = []string{"/ip4/127.0.0.1/tcp/" + port(freeAddr())}
	cfg.APIListen = "127.0.0.1:0"
	dir := filepath.Join(n.Dir, strings.ToLower(a.Code)+"-"+suffix)
	// The member-sign key is the member's: the replica signs with the same
	// key and certificate as the first node.
	res, err := node.Init(dir, *cfg, node.InitOptions{Anchor: n.Anchor, Organization: a.Name, SignFrom: from.Dir}, []byte(Passphrase))
	if err != nil {
		return nil, err
	}
	added, err := n.Admin.AddNode(ctx, n.Member(a), res.NodeCSR, cfg.P2PListen)
	if err != nil {
		return nil, fmt.Errorf("add node to %s: %w", n.Member(a), err)
	}
	if err := node.InstallCertificates(dir, []byte(added.NodeCert), nil, []byte(Passphrase)); err != nil {
		return nil, err
	}
	return n.startNode(ctx, dir)
}

func (n *Network) startNode(ctx context.Context, dir string) (*NodeHandle, error) {
	nd, err := n.openNode(ctx, dir)
	if err != nil {
		return nil, err
	}
	h := &NodeHandle{Dir: dir, Node: nd, net: n}
	n.onClose(h.Stop)
	return h, nil
}

func (n *Network) openNode(ctx context.Context, dir string, extra ...node.Option) (*node.Node, error) {
	opts := append([]node.Option{node.WithLogger(n.log),
		node.WithGlobalConfigOptions(globalconf.WithRetryBase(200 * time.Millisecond))}, n.opts.NodeOptions...)
	opts = append(opts, extra...)
	nd, err := node.Open(ctx, dir, []byte(Passphrase), opts...)
	if err != nil {
		return nil, err
	}
	if err := nd.RefreshConfig(ctx); err != nil {
		n.log.Warn("first configuration fetch failed", "error", err)
	}
	return nd, nil
}

// WaitConfig waits until every node runs on a configuration at least as
// new as the registry's current state.
func (n *Network) WaitConfig(ctx context.Context, nodes ...*NodeHandle) error {
	want := n.Registry.Server().State().Version
	for _, h := range nodes {
		for h.Node.ConfigVersion() < want {
			if err := h.Node.RefreshConfig(ctx); err != nil && ctx.Err() != nil {
				return fmt.Errorf("node %s stuck at configuration %d, want %d: %w", h.Dir, h.Node.ConfigVersion(), want, err)
			}
			if h.Node.ConfigVersion() >= want {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s stuck at configuration %d, want %d", h.Dir, h.Node.ConfigVersion(), want)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Publish publishes a provided service in the registry's catalogue with the
// SHA-256 of its description (of the empty string when it has none).
func (n *Network) Publish(ctx context.Context, subsystem, code, version string, openapi []byte) error {
	return n.PublishClassified(ctx, subsystem, code, version, "", openapi)
}

// PublishClassified is Publish at classification class (empty: the
// registry's default, internal).
func (n *Network) PublishClassified(ctx context.Context, subsystem, code, version string, class state.Classification, openapi []byte) error {
	sum := sha256.Sum256(openapi)
	_, err := n.Admin.PublishService(ctx, client.PublishServiceRequest{Subsystem: subsystem, Code: code, Version: version,
		DescriptionSHA256: hex.EncodeToString(sum[:]), Classification: string(class)})
	return err
}

// ClientCert creates a self-signed TLS client certificate for an
// information system (node.CreateClientCert).
func ClientCert(dir, name string) (certPath, keyPath, sha string, err error) {
	return node.CreateClientCert(dir, name)
}

func sampleForm(a Agency) state.Registration {
	highest := a.Highest
	if highest == "" {
		highest = state.ClassSecret
	}
	return state.Registration{
		Unit:             state.Unit{Name: a.Name, Address: "Ha Noi"},
		Representative:   state.Person{Name: "Nguyen Van A", Title: "Giam doc"},
		TechnicalContact: state.Contact{Name: "Tran Thi B", Phone: "+84 24 3823 0000", Email: "cntt@example.gov.vn"},
		System:           state.System{Code: a.Subsystem, Name: a.Name + " information system", BusinessDomain: "demo"},
		SecurityLevel:    3, SecurityApprovalDoc: "QD-1/2026", HighestClassification: highest,
		ConnectionOption: "own node",
		DataCatalogue: []state.DataRow{{Name: "sample records", Classification: "public", Frequency: "daily",
			Method: state.MethodAPI, PlannedConnection: "2026-12-01", Purpose: "demo"}},
		Commitment: state.Commitment{SignerName: "Nguyen Van A", SignerTitle: "Giam doc", SignerIDNumber: "001088000001", Date: "2026-11-23"},
	}
}

// AllowAll grants every endpoint of service to client.
func AllowAll(client, service string) services.Rule {
	return services.Rule{Subject: client, Service: service}
}

// freeAddr is a loopback address free now, for a server that binds it
// later (its address goes into configuration first). The port is drawn
// below Linux's ephemeral range (32768 and up), so an outgoing
// connection's local port cannot take it in the meantime.
func freeAddr() string {
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+mrand.IntN(12000)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	ln := mustListen()
	defer ln.Close()
	return ln.Addr().String()
}

func mustListen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return ln
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
