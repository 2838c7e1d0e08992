package msglog

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/tsa"
)

// pki is a real DXL CA (ca.Init in a temp dir), member-sign signers for
// VN-TEST/GOV/A (consumer) and VN-TEST/GOV/B (provider) and a TSA issued
// by the same CA.
type pki struct {
	ca       *ca.CA
	roots    *x509.CertPool
	caChain  [][]byte // intermediate, root (DER)
	consumer *envelope.Signer
	provider *envelope.Signer
	tsaChain []*x509.Certificate
	tsaKey   crypto.Signer
	now      func() time.Time // the clock everything was issued and signs with
}

// newPKI builds a pki whose clock is time.Now()+offset; memberValidity,
// if set, overrides the member-sign certificates' lifetime.
func newPKI(t testing.TB, offset, memberValidity time.Duration) *pki {
	t.Helper()
	now := func() time.Time { return time.Now().Add(offset) }
	c, err := ca.Init(filepath.Join(t.TempDir(), "ca"), ca.Config{Instance: "VN-TEST", Operator: "GOV/OP"},
		[]byte("test passphrase"), ca.WithLogger(quiet()), ca.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &pki{ca: c, roots: x509.NewCertPool(), caChain: [][]byte{c.Intermediate().Raw, c.Root().Raw}, now: now}
	p.roots.AddCert(c.Root())
	issue := func(key crypto.Signer, profile ca.Profile, member string, validity time.Duration) []*x509.Certificate {
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{Organization: []string{"Agency"}}}, key)
		if err != nil {
			t.Fatal(err)
		}
		iss, err := c.Issue(context.Background(), ca.IssueRequest{CSR: csr, Profile: profile, Member: member, Validity: ca.Duration(validity)})
		if err != nil {
			t.Fatal(err)
		}
		return iss.Chain
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if p.consumer, err = envelope.NewSigner(edKey, issue(edKey, ca.ProfileMemberSign, "GOV/A", memberValidity)[0]); err != nil {
		t.Fatal(err)
	}
	if p.provider, err = envelope.NewSigner(ecKey, issue(ecKey, ca.ProfileMemberSign, "GOV/B", memberValidity)[0]); err != nil {
		t.Fatal(err)
	}
	p.consumer.Now, p.provider.Now = now, now
	tk, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.tsaKey, p.tsaChain = tk, issue(tk, ca.ProfileTSA, "", 0)
	return p
}

// authority starts a real tsa.Authority with p's TSA certificate.
func (p *pki) authority(t testing.TB) *tsa.Authority {
	t.Helper()
	serials, err := tsa.OpenSerials(filepath.Join(t.TempDir(), "serials.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serials.Close() })
	a, err := tsa.New(tsa.Config{Signer: p.tsaKey, Chain: p.tsaChain, Clock: p.now, Logger: quiet()}, serials)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newTSA returns a pki and a real authority of its CA.
func newTSA(t testing.TB) (*pki, *tsa.Authority) {
	t.Helper()
	p := newPKI(t, 0, 0)
	return p, p.authority(t)
}

// exchange signs a request from GOV/A to GOV/B and, if status > 0, its
// response.
func (p *pki) exchange(t testing.TB, status int) (req *envelope.SignedRequest, resp []byte) {
	t.Helper()
	body := []byte(`{"id":1}`)
	sreq, err := p.consumer.SignRequest(envelope.Request{
		RequestID: envelope.NewRequestID(), Client: "VN-TEST/GOV/A/SUBSYS", Service: "VN-TEST/GOV/B/REGISTRY/persons/v1",
		Target: "12D3KooWProviderNodeB1", Method: "POST", Path: "/persons?id=1",
		BodySHA256: sha256.Sum256(body), ContentType: "application/json", BodyLength: uint64(len(body)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if status == 0 {
		return sreq, nil
	}
	out := []byte(`{"name":"Nguyen Van A"}`)
	sresp, err := p.provider.SignResponse(sreq, envelope.Response{Status: uint16(status),
		BodySHA256: sha256.Sum256(out), ContentType: "application/json", BodyLength: uint64(len(out))})
	if err != nil {
		t.Fatal(err)
	}
	return sreq, sresp.Raw
}

// record builds the consumer-side record of an exchange.
func record(req *envelope.SignedRequest, resp []byte, status int) Record {
	return Record{Role: RoleConsumer, RequestID: req.RequestID.String(), Client: req.Client, Service: req.Service,
		ConsumerPeer: "12D3KooWConsumerNodeA1", ProviderPeer: req.Target, Request: req.Raw, Response: resp, Status: status}
}

// fakeRecord is a record with opaque envelope bytes, for tests that do
// not export evidence.
func fakeRecord(i int) Record {
	return Record{Role: RoleProvider, RequestID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		Client: "VN-TEST/GOV/A/SUBSYS", Service: "VN-TEST/GOV/B/REGISTRY/persons/v1",
		ConsumerPeer: "12D3KooWConsumerNodeA1", ProviderPeer: "12D3KooWProviderNodeB1",
		Request: []byte(fmt.Sprintf("request envelope %d", i)), Response: []byte("response envelope"), Status: 200}
}

// switchStamper is a real stamper whose availability can be switched.
type switchStamper struct {
	s     tsa.Stamper
	up    atomic.Bool
	calls atomic.Int64
}

var errDown = errors.New("test TSA switched off")

func (s *switchStamper) Stamp(ctx context.Context, digest []byte) ([]byte, error) {
	s.calls.Add(1)
	if !s.up.Load() {
		return nil, errDown
	}
	return s.s.Stamp(ctx, digest)
}

func newSwitch(a *tsa.Authority, up bool) *switchStamper {
	s := &switchStamper{s: tsa.LocalStamper(a)}
	s.up.Store(up)
	return s
}

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// openLog opens a log in dir with cfg's unset essentials filled in.
func openLog(t testing.TB, cfg Config) *Log {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(t.TempDir(), "msglog.db")
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet()
	}
	l, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func tsas(list ...TSA) func() []TSA { return func() []TSA { return list } }

func flush(t testing.TB, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// poll waits for cond, failing after 20 s.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
