package globalconf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
)

const testInstance = "VN-TEST"

var quiet = slog.New(slog.DiscardHandler)

// testPKI is a real DXL CA (ca.Init) with the certificates the tests use.
type testPKI struct {
	ca          *ca.CA
	root, inter *x509.Certificate
	// Config signers, registry-config profile.
	ecKey, edKey, rsaKey    crypto.Signer
	ecCert, edCert, rsaCert *x509.Certificate
	// serverTLS is a node-auth certificate (serverAuth) for registry
	// servers; signTLS a member-sign one (no serverAuth).
	serverTLS, signTLS tls.Certificate
}

var (
	fixtureDir  string
	fixtureOnce sync.Once
	fixtureA    *testPKI // the network's CA
	fixtureB    *testPKI // an unrelated CA
	fixtureErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "globalconf-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	if fixtureA != nil {
		fixtureA.ca.Close()
	}
	if fixtureB != nil {
		fixtureB.ca.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// pkis returns the two test CAs, made once per test binary (sealing CA keys
// with scrypt is slow).
func pkis(t testing.TB) (*testPKI, *testPKI) {
	t.Helper()
	fixtureOnce.Do(func() {
		if fixtureA, fixtureErr = newTestPKI(filepath.Join(fixtureDir, "a"), true); fixtureErr == nil {
			fixtureB, fixtureErr = newTestPKI(filepath.Join(fixtureDir, "b"), false)
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureA, fixtureB
}

func newTestPKI(dir string, full bool) (*testPKI, error) {
	c, err := ca.Init(dir, ca.Config{Instance: testInstance, Operator: "GOV/OPERATOR"}, []byte("test passphrase"), ca.WithLogger(quiet))
	if err != nil {
		return nil, err
	}
	p := &testPKI{ca: c, root: c.Root(), inter: c.Intermediate()}
	issue := func(key crypto.Signer, profile ca.Profile, member string) (*x509.Certificate, error) {
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "test", Organization: []string{"DXL Test Operator"}}}, key)
		if err != nil {
			return nil, err
		}
		iss, err := c.Issue(context.Background(), ca.IssueRequest{
			CSR: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), Profile: profile, Member: member})
		if err != nil {
			return nil, err
		}
		return iss.Chain[0], nil
	}
	if p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if p.ecCert, err = issue(p.ecKey, ca.ProfileRegistryConfig, ""); err != nil {
		return nil, err
	}
	if full {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		p.edKey = ed
		if p.edCert, err = issue(p.edKey, ca.ProfileRegistryConfig, ""); err != nil {
			return nil, err
		}
		if p.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
		if p.rsaCert, err = issue(p.rsaKey, ca.ProfileRegistryConfig, ""); err != nil {
			return nil, err
		}
	}
	for _, x := range []struct {
		dst     *tls.Certificate
		profile ca.Profile
	}{{&p.serverTLS, ca.ProfileNodeAuth}, {&p.signTLS, ca.ProfileMemberSign}} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		cert, err := issue(key, x.profile, "GOV/OPERATOR")
		if err != nil {
			return nil, err
		}
		*x.dst = tls.Certificate{Certificate: [][]byte{cert.Raw, p.inter.Raw}, PrivateKey: key, Leaf: cert}
	}
	return p, nil
}

// anchorFor returns an anchor for p's root and ECDSA signer.
func anchorFor(t testing.TB, p *testPKI, servers ...string) *Anchor {
	t.Helper()
	if len(servers) == 0 {
		servers = []string{"https://127.0.0.1:1"}
	}
	a, err := NewAnchor(testInstance, p.root, p.ecCert, servers)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// peerID returns a deterministic, valid libp2p peer ID for i.
func peerID(t testing.TB, i int) string {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	binary.BigEndian.PutUint64(seed, uint64(i)+1)
	id, err := ca.PeerIDFromKey(ed25519.NewKeyFromSeed(seed).Public())
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

var peerIDCache sync.Map

func cachedPeerID(t testing.TB, i int) string {
	if v, ok := peerIDCache.Load(i); ok {
		return v.(string)
	}
	id := peerID(t, i)
	peerIDCache.Store(i, id)
	return id
}

func hexOf(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }

// sampleDoc builds a valid document with n members (each with one
// subsystem and one node) and s services.
func sampleDoc(t testing.TB, p *testPKI, version uint64, issued time.Time, n, s int) *Document {
	t.Helper()
	d := &Document{
		Instance: testInstance, Version: version,
		IssuedAt: issued, ExpiresAt: issued.Add(24 * time.Hour),
		Policy:  DefaultPolicy(),
		CAChain: [][]byte{p.inter.Raw, p.root.Raw},
		TSAs:    []TSA{{Name: "DXL TSA", URL: "https://tsa.example:8443/", CertDER: p.inter.Raw}},
	}
	for i := range n {
		m := fmt.Sprintf("%s/GOV/000.00.%02d.H%03d", testInstance, i%100, i)
		status := ident.MemberActive
		if i%50 == 7 {
			status = ident.MemberSuspended
		}
		d.Members = append(d.Members, Member{ID: m, Name: fmt.Sprintf("Agency %d <Sở %d & co>", i, i), Status: status})
		d.Subsystems = append(d.Subsystems, Subsystem{ID: m + "/SYS", Status: ident.SubsystemActive})
		d.Nodes = append(d.Nodes, Node{
			PeerID: cachedPeerID(t, i), Member: m, Status: ident.NodeActive,
			Addrs:      []string{fmt.Sprintf("/ip4/10.0.%d.%d/tcp/4001", i/250, i%250), fmt.Sprintf("/ip4/10.0.%d.%d/udp/4001/quic-v1", i/250, i%250)},
			CertSHA256: hexOf(m), CertSerial: fmt.Sprintf("8%031x", i+1),
		})
	}
	for i := range s {
		if n == 0 {
			break
		}
		svc := Service{Provider: d.Subsystems[i%n].ID, Code: fmt.Sprintf("service-%d", i), Version: "v1",
			Lifecycle: ident.ServicePublished, DescriptionSHA256: hexOf(fmt.Sprint(i))}
		if i%10 == 3 {
			sunset := issued.Add(90 * 24 * time.Hour)
			svc.Lifecycle, svc.Sunset = ident.ServiceDeprecated, &sunset
		}
		d.Services = append(d.Services, svc)
	}
	if n > 0 {
		d.Groups = []Group{{Code: "all-ministries", Members: []string{d.Subsystems[0].ID}}, {Code: "security-services"}}
		for i := 1; i < n; i += 3 {
			d.Groups[0].Members = append(d.Groups[0].Members, d.Subsystems[i].ID)
		}
	}
	for i := range n / 10 {
		d.Revoked = append(d.Revoked, RevokedCert{Serial: fmt.Sprintf("9%031x", i+1), Reason: "keyCompromise", RevokedAt: issued.Add(-time.Hour)})
	}
	return d
}

// signDoc signs d with p's ECDSA signer and returns the wire bytes.
func signDoc(t testing.TB, p *testPKI, d *Document) []byte {
	t.Helper()
	return signDocWith(t, d, p.ecKey, p.ecCert)
}

func signDocWith(t testing.TB, d *Document, key crypto.Signer, cert *x509.Certificate) []byte {
	t.Helper()
	s, err := Sign(d, key, []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// signRaw signs arbitrary config bytes, bypassing Sign's checks.
func signRaw(t testing.TB, key crypto.Signer, cert *x509.Certificate, config []byte) []byte {
	t.Helper()
	sig, alg, err := signInput(key, config)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := (&Signed{Config: config, Signature: sig, Algorithm: alg, Certificate: cert.Raw}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// regServer is a registry server stand-in: Handler over settable bytes,
// recording what it was asked and answered.
type regServer struct {
	*httptest.Server
	mu       sync.Mutex
	raw      []byte
	version  uint64
	requests atomic.Int64
	lastINM  atomic.Value // string
	notify   Notifier
	noHold   atomic.Bool // answer long-polls at once, as an older server does
	h        http.Handler
	statuses sync.Map // status code → *atomic.Int64
}

func (s *regServer) set(raw []byte, version uint64) {
	s.mu.Lock()
	s.raw, s.version = raw, version
	s.mu.Unlock()
	s.notify.Notify()
}

func (s *regServer) status(code int) int64 {
	if v, ok := s.statuses.Load(code); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }

func (s *regServer) handler() http.Handler {
	h := Handler(func() ([]byte, uint64, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.raw, s.version, nil
	}, WithChanges(func() <-chan struct{} {
		if s.noHold.Load() {
			return nil
		}
		return s.notify.Changed()
	}))
	s.h = h
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.lastINM.Store(r.Header.Get("If-None-Match"))
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		v, _ := s.statuses.LoadOrStore(rec.code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	})
}

// newRegServer starts an HTTPS registry stand-in presenting cert.
func newRegServer(t testing.TB, cert tls.Certificate) *regServer {
	t.Helper()
	s := &regServer{}
	s.Server = httptest.NewUnstartedServer(s.handler())
	s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Server.StartTLS()
	t.Cleanup(s.Server.Close)
	return s
}

// newPlainRegServer starts a plain-HTTP registry stand-in.
func newPlainRegServer(t testing.TB) *regServer {
	t.Helper()
	s := &regServer{}
	s.Server = httptest.NewServer(s.handler())
	t.Cleanup(s.Server.Close)
	return s
}

// deadURL returns an https URL nothing listens on.
func deadURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := "https://" + srv.Listener.Addr().String()
	srv.Close()
	return u
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
