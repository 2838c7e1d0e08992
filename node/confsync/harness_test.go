package confsync_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/node/confsync"
	"github.com/dxl-network/dxl/node/transport"
)

// testnet is a real in-process registry (devnet: Raft, CA, HTTPS API,
// publisher) and light nodes: each a globalconf client that long-polls the
// registry, a libp2p host gated by its configuration, and a relay.
type testnet struct {
	t     testing.TB
	reg   *devnet.Network
	log   *slog.Logger
	nodes []*tnode
	// regBytes counts what every node read from the registry (TLS
	// included): what the registry sent.
	regBytes atomic.Int64
	seq      atomic.Int64
	last     atomic.Uint64 // the index of the latest approval
}

// tnode is one light node.
type tnode struct {
	idx    int
	key    ed25519.PrivateKey
	host   *transport.Host
	conf   *globalconf.Client
	relay  *confsync.Relay
	cut    atomic.Bool // the registry is unreachable from this node
	connMu sync.Mutex
	conns  []net.Conn // to the registry
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex
	seen map[uint64]time.Time // when each version was accepted
}

func testLogger() *slog.Logger {
	if os.Getenv("DXL_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestnet(t testing.TB) *testnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := testLogger()
	reg, err := devnet.Start(ctx, devnet.Options{Dir: t.TempDir(), FastRaft: true, Logger: log, Instance: "VN-TEST"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return &testnet{t: t, reg: reg, log: log}
}

func csr(t testing.TB, key ed25519.PrivateKey, cn string) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"Agency " + cn}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func form(code string) state.Registration {
	return state.Registration{
		Unit:             state.Unit{Name: "Agency " + code, Address: "Ha Noi"},
		Representative:   state.Person{Name: "Nguyen Van A", Title: "Giam doc"},
		TechnicalContact: state.Contact{Name: "Tran Thi B", Phone: "+84 24 3823 0000", Email: "cntt@example.gov.vn"},
		System:           state.System{Code: "SYS", Name: code + " information system", BusinessDomain: "test"},
		SecurityLevel:    3, SecurityApprovalDoc: "QD-1/2026", HighestClassification: state.ClassPublic,
		ConnectionOption: "own node",
		DataCatalogue: []state.DataRow{{Name: "records", Classification: "public", Frequency: "daily",
			Method: state.MethodAPI, PlannedConnection: "2026-12-01", Purpose: "test"}},
		Commitment: state.Commitment{SignerName: "Nguyen Van A", SignerTitle: "Giam doc", SignerIDNumber: "001088000001", Date: "2026-11-23"},
	}
}

// admit registers and approves a member with one node at addrs, and
// returns the approval's index (the configuration version that has it).
func (tn *testnet) admit(ctx context.Context, nodeKey ed25519.PrivateKey, addrs []string) uint64 {
	tn.t.Helper()
	v, _ := tn.admitAt(ctx, nodeKey, addrs)
	return v
}

// admitAt is admit, also returning when the approval was sent.
func (tn *testnet) admitAt(ctx context.Context, nodeKey ed25519.PrivateKey, addrs []string) (uint64, time.Time) {
	tn.t.Helper()
	code := fmt.Sprintf("P%04d", tn.seq.Add(1))
	_, signKey, _ := ed25519.GenerateKey(rand.Reader)
	st, err := tn.reg.Admin.Submit(ctx, client.SubmitRequest{Member: "VN-TEST/GOV/" + code, Registration: form(code),
		NodeCSR: csr(tn.t, nodeKey, code), SignCSR: csr(tn.t, signKey, code), NodeAddrs: addrs})
	if err != nil {
		tn.t.Fatalf("submit %s: %v", code, err)
	}
	at := time.Now()
	ar, err := tn.reg.Admin.Approve(ctx, st.RequestID)
	if err != nil {
		tn.t.Fatalf("approve %s: %v", code, err)
	}
	tn.last.Store(max(tn.last.Load(), ar.Index))
	return ar.Index, at
}

// addNodes starts n hosts and admits their members. The nodes hold no
// configuration yet (start fetches it).
func (tn *testnet) addNodes(ctx context.Context, n int) []*tnode {
	tn.t.Helper()
	var added []*tnode
	for range n {
		nd := &tnode{idx: len(tn.nodes), seen: map[uint64]time.Time{}, done: make(chan struct{})}
		_, nd.key, _ = ed25519.GenerateKey(rand.Reader)
		tn.client(nd)
		h, err := transport.New(transport.Config{Key: nd.key, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
			Admit: nd.admits, MaxBody: 1 << 20, Logger: tn.log})
		if err != nil {
			tn.t.Fatal(err)
		}
		nd.host = h
		tn.t.Cleanup(func() { _ = h.Close() })
		var addrs []string
		for _, a := range h.Addrs() {
			addrs = append(addrs, a.String())
		}
		tn.admit(ctx, nd.key, addrs)
		tn.nodes = append(tn.nodes, nd)
		added = append(added, nd)
	}
	return added
}

// fetch fetches until nd holds every approval so far (the registry signs
// a burst of changes once, after a short debounce).
func (tn *testnet) fetch(ctx context.Context, nd *tnode) {
	tn.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for nd.version() < tn.last.Load() {
		_, err := nd.conf.Fetch(ctx) // 503 until the first signing
		if time.Now().After(deadline) {
			tn.t.Fatalf("node %d at version %d, want %d: %v", nd.idx, nd.version(), tn.last.Load(), err)
		}
		if nd.version() < tn.last.Load() {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// cutOff makes the registry unreachable from nd: its connections are
// closed and new ones refused.
func (nd *tnode) cutOff() {
	nd.cut.Store(true)
	nd.connMu.Lock()
	defer nd.connMu.Unlock()
	for _, c := range nd.conns {
		_ = c.Close()
	}
	nd.conns = nil
}

// admits is a node's gate: peers that are nodes of its configuration.
func (nd *tnode) admits(p peer.ID) bool {
	doc, _, _ := nd.conf.Current()
	if doc == nil {
		return false
	}
	s := p.String()
	return slices.ContainsFunc(doc.Nodes, func(n globalconf.Node) bool { return n.PeerID == s })
}

// dialer binds node i to its own loopback source address (the registry
// caps connections per client IP) and counts what the registry sends.
func (tn *testnet) dialer(nd *tnode) func(ctx context.Context, network, addr string) (net.Conn, error) {
	src := &net.TCPAddr{IP: net.IPv4(127, 0, byte(1+nd.idx/250), byte(2+nd.idx%250))}
	d := &net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if nd.cut.Load() {
			return nil, fmt.Errorf("registry unreachable from node %d (test)", nd.idx)
		}
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		nd.connMu.Lock()
		nd.conns = append(nd.conns, c)
		nd.connMu.Unlock()
		return &countConn{Conn: c, n: &tn.regBytes}, nil
	}
}

type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// client makes nd's configuration client.
func (tn *testnet) client(nd *tnode) {
	tn.t.Helper()
	c, err := globalconf.NewClient(tn.reg.Anchor, "", globalconf.WithLogger(tn.log),
		globalconf.WithLongPoll(globalconf.DefaultLongPoll), globalconf.WithRetryBase(200*time.Millisecond),
		globalconf.WithDialContext(tn.dialer(nd)), globalconf.WithOnUpdate(nd.onUpdate))
	if err != nil {
		tn.t.Fatal(err)
	}
	nd.conf = c
	tn.t.Cleanup(c.Close)
}

func (nd *tnode) onUpdate(doc *globalconf.Document) {
	now := time.Now()
	nd.mu.Lock()
	nd.seen[doc.Version] = now
	nd.mu.Unlock()
	if nd.relay != nil {
		nd.relay.Updated()
	}
}

// reached returns when nd first held a version ≥ v.
func (nd *tnode) reached(v uint64) (time.Time, bool) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	var first time.Time
	for ver, at := range nd.seen {
		if ver >= v && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first, !first.IsZero()
}

func (nd *tnode) version() uint64 {
	if doc, _, _ := nd.conf.Current(); doc != nil {
		return doc.Version
	}
	return 0
}

// startRelay starts nd's relay and its long-poll loop.
func (tn *testnet) startRelay(nd *tnode, opts ...func(*confsync.Config)) {
	tn.t.Helper()
	cfg := confsync.Config{Host: nd.host, Instance: "VN-TEST", Conf: nd.conf, Admit: nd.admits, Logger: tn.log}
	for _, o := range opts {
		o(&cfg)
	}
	r, err := confsync.New(cfg)
	if err != nil {
		tn.t.Fatal(err)
	}
	nd.relay = r
	ctx, cancel := context.WithCancel(context.Background())
	nd.cancel = cancel
	go func() { defer close(nd.done); _ = nd.conf.Run(ctx, time.Minute) }()
	tn.t.Cleanup(func() { cancel(); <-nd.done; r.Close() })
}

// connect links every node to the next k (a ring with chords), so the
// topic's mesh spans the network without a full mesh of connections.
func (tn *testnet) connect(ctx context.Context, nodes []*tnode, k int) {
	tn.t.Helper()
	for i, a := range nodes {
		for j := 1; j <= k && j < len(nodes); j++ {
			b := nodes[(i+j)%len(nodes)]
			if err := a.host.Lib().Connect(ctx, peer.AddrInfo{ID: b.host.ID(), Addrs: b.host.Addrs()}); err != nil {
				tn.t.Fatalf("connect %d → %d: %v", a.idx, b.idx, err)
			}
		}
	}
}

// waitAll waits until every node holds a version ≥ v.
func waitAll(t testing.TB, nodes []*tnode, v uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var behind []int
		for _, nd := range nodes {
			if nd.version() < v {
				behind = append(behind, nd.idx)
			}
		}
		if len(behind) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes %v still below version %d", behind, v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
