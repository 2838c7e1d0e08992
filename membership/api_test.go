package membership

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// apiCluster is a 3-server registry over InmemTransport, each server with
// its HTTP API on an httptest TLS server, the HTTP forwarder (mutual TLS),
// a publisher, a CA sync, and its own copy of one real CA directory (made
// by ca.Init, copied before the servers start, so the copies diverge and
// only the CA sync keeps them consistent).
type apiCluster struct {
	t      testing.TB
	c      *storetest.Cluster
	cas    []*ca.CA
	pubs   []*Publisher
	syncs  []*CASync
	https  []*httptest.Server
	urls   []string
	anchor *globalconf.Anchor
	roots  *x509.CertPool
	web    *http.Client // a curl-like client: trusts the network root, no certificate
	token  string       // admin operator "alice", created at bootstrap
}

const caPass = "test passphrase"

func writeCopy(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func issueKey(t testing.TB, c *ca.CA, profile ca.Profile, member string) (crypto.Signer, *ca.Issued) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "registry", Organization: []string{"DXL Test Operator"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := c.Issue(context.Background(), ca.IssueRequest{CSR: der, Profile: profile, Member: member})
	if err != nil {
		t.Fatal(err)
	}
	return key, iss
}

type switchHandler struct{ h atomic.Pointer[http.Handler] }

func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := s.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "starting", http.StatusServiceUnavailable)
}

func newAPICluster(t testing.TB) *apiCluster {
	t.Helper()
	ctx := storetest.Context(t, 60*time.Second)
	dir := t.TempDir()
	master, err := ca.Init(filepath.Join(dir, "ca"), ca.Config{Instance: regtest.Instance, Operator: "GOV/OPERATOR"}, []byte(caPass),
		ca.WithLogger(regtest.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	root, inter := master.Root(), master.Intermediate()
	cfgKey, cfgIss := issueKey(t, master, ca.ProfileRegistryConfig, "")
	a := &apiCluster{t: t, roots: x509.NewCertPool()}
	a.roots.AddCert(root)
	var tlsCerts []tls.Certificate
	var handlers []*switchHandler
	for range 3 {
		key, iss := issueKey(t, master, ca.ProfileNodeAuth, "GOV/OPERATOR")
		tlsCerts = append(tlsCerts, tls.Certificate{Certificate: [][]byte{iss.DER, inter.Raw}, PrivateKey: key, Leaf: iss.Chain[0]})
	}
	master.Close()
	for i := range 3 {
		d := filepath.Join(dir, fmt.Sprintf("ca-%d", i+1))
		writeCopy(t, filepath.Join(dir, "ca"), d)
		c, err := ca.Open(d, []byte(caPass), ca.WithLogger(regtest.Logger()))
		if err != nil {
			t.Fatal(err)
		}
		a.cas = append(a.cas, c)
		t.Cleanup(func() { c.Close() })
		sh := &switchHandler{}
		hs := httptest.NewUnstartedServer(sh)
		hs.TLS = api.ServerTLSConfig(tlsCerts[i], a.roots)
		hs.StartTLS()
		t.Cleanup(hs.Close)
		handlers, a.https, a.urls = append(handlers, sh), append(a.https, hs), append(a.urls, hs.URL)
	}
	a.c = storetest.NewCluster(t, storetest.Opts{N: 3,
		Init: func() *state.InitInstance {
			return &state.InitInstance{Header: state.Header{Actor: "bootstrap"}, Instance: regtest.Instance, CAChain: [][]byte{inter.Raw, root.Raw}}
		},
		ServerOptions: func(i int) []store.Option {
			return []store.Option{WithHTTPForwarder(client.ClientTLSConfig(tlsCerts[i], a.roots))}
		},
	})
	leader := a.c.WaitLeader()
	for i := range 3 {
		if _, err := leader.Apply(ctx, &state.SetRegistryServer{Header: state.Header{Actor: "bootstrap"}, ID: a.c.IDs[i],
			URL: a.urls[i], CertSHA256: ca.Fingerprint(tlsCerts[i].Leaf)}); err != nil {
			t.Fatal(err)
		}
	}
	if a.token, _, err = leader.CreateOperator(ctx, "bootstrap", "alice", state.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	a.c.WaitConverged() // every server knows the token before a test uses it
	for i := range 3 {
		s := a.c.Server(i)
		pub, err := NewPublisher(s, PublisherConfig{Key: cfgKey, Chain: []*x509.Certificate{cfgIss.Chain[0], inter}, Debounce: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		sync := NewCASync(s, a.cas[i])
		a.pubs, a.syncs = append(a.pubs, pub), append(a.syncs, sync)
		var h http.Handler = api.New(s, api.Config{CA: a.cas[i], Publisher: pub,
			Intake: api.IntakeConfig{PerMinute: 6000, Burst: 1000, MaxPending: 1000}})
		handlers[i].h.Store(&h)
	}
	t.Cleanup(func() { // before the cluster's own cleanup closes the servers
		for i := range a.pubs {
			a.pubs[i].Close()
			a.syncs[i].Close()
		}
	})
	if a.anchor, err = globalconf.NewAnchor(regtest.Instance, root, cfgIss.Chain[0], a.urls); err != nil {
		t.Fatal(err)
	}
	a.web = &http.Client{Transport: &http.Transport{TLSClientConfig: client.ClientTLSConfig(tls.Certificate{}, a.roots)}}
	a.web.Transport.(*http.Transport).TLSClientConfig.Certificates = nil
	t.Cleanup(a.web.CloseIdleConnections)
	return a
}

// followers returns the indexes of two followers.
func (a *apiCluster) followers() (int, int) {
	l := a.c.LeaderIndex()
	var f []int
	for i := range 3 {
		if i != l {
			f = append(f, i)
		}
	}
	return f[0], f[1]
}

type resp struct {
	status int
	body   []byte
}

func (r resp) code() string {
	var e client.ErrorBody
	json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// call sends a request to server i like curl would: method, path, optional
// bearer token, body (string, []byte or any JSON value).
func (a *apiCluster) call(i int, method, path, token string, body any) resp {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.urls[i]+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := a.web.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b}
}

func (a *apiCluster) must(r resp, status int) resp {
	a.t.Helper()
	if r.status != status {
		a.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func pemCSR(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func submitBody(ap *regtest.Applicant) client.SubmitRequest {
	return client.SubmitRequest{Member: ap.Member, Registration: regtest.ValidRegistration(ap.Code), NodeCSR: pemCSR(ap.NodeCSR),
		SignCSR: pemCSR(ap.SignCSR), NodeAddrs: []string{"/ip4/10.0.0.1/tcp/4001"}}
}

// fetchConfig verifies server i's signed configuration.
func (a *apiCluster) fetchConfig(i int) (*globalconf.Document, []byte) {
	r := a.call(i, http.MethodGet, globalconf.GlobalConfigPath, "", nil)
	if r.status != http.StatusOK {
		return nil, nil
	}
	doc, err := globalconf.Verify(r.body, a.anchor, time.Now())
	if err != nil {
		a.t.Fatalf("server %d config: %v", i, err)
	}
	return doc, r.body
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func hasMember(d *globalconf.Document, id string, status ident.MemberStatus) bool {
	return d != nil && slices.ContainsFunc(d.Members, func(m globalconf.Member) bool { return m.ID == id && m.Status == status })
}

func (a *apiCluster) versions() []uint64 {
	var v []uint64
	for i := range 3 {
		v = append(v, a.c.Server(i).Version())
	}
	return v
}

func (a *apiCluster) ocspStatus(i int, der []byte) int {
	a.t.Helper()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		a.t.Fatal(err)
	}
	req, err := ocsp.CreateRequest(cert, a.cas[i].Intermediate(), nil)
	if err != nil {
		a.t.Fatal(err)
	}
	r, err := ocsp.ParseResponse(a.cas[i].OCSP(req), a.cas[i].Intermediate())
	if err != nil {
		a.t.Fatal(err)
	}
	return r.Status
}

func TestHTTPAPIAdmissionToSignedConfig(t *testing.T) {
	a := newAPICluster(t)
	f1, f2 := a.followers()
	ap := regtest.NewApplicant(t, "H26")

	// A prospective member submits through a follower's public endpoint.
	r := a.must(a.call(f1, http.MethodPost, "/v1/registrations", "", submitBody(ap)), http.StatusAccepted)
	var st client.RegistrationStatus
	if err := json.Unmarshal(r.body, &st); err != nil || st.Status != state.RequestPending || st.RequestID == "" {
		t.Fatalf("submit answer %s", r.body)
	}
	r = a.must(a.call(f1, http.MethodGet, "/v1/registrations/"+st.RequestID, "", nil), http.StatusOK)
	if strings.Contains(string(r.body), "registration") || strings.Contains(string(r.body), "csr") {
		t.Fatalf("public status leaks detail: %s", r.body)
	}

	// The operator approves through the other follower (forwarded over mTLS).
	r = a.must(a.call(f2, http.MethodPost, "/v1/admin/registrations/"+st.RequestID+"/approve", a.token, nil), http.StatusOK)
	var ar client.ApproveResponse
	if err := json.Unmarshal(r.body, &ar); err != nil || ar.NodeSerial == "" || ar.SignSerial == "" {
		t.Fatalf("approve answer %s", r.body)
	}
	r = a.must(a.call(f2, http.MethodGet, "/v1/registrations/"+st.RequestID, "", nil), http.StatusOK)
	if !strings.Contains(string(r.body), `"approved"`) {
		t.Fatalf("status after approval: %s", r.body)
	}
	// f1 is a third server: it learns the approval by replication (reads
	// are per server; read-your-writes holds only where the write went).
	waitFor(t, 10*time.Second, "approval in f1's history", func() bool {
		r = a.must(a.call(f1, http.MethodGet, "/v1/admin/history?limit=3", a.token, nil), http.StatusOK)
		return strings.Contains(string(r.body), `"actor":"alice","action":"approve_registration"`)
	})

	// All three servers converge on one signed version containing the member.
	want := a.c.Server(a.c.LeaderIndex()).Version()
	waitFor(t, 10*time.Second, "configs to converge", func() bool {
		for i := range 3 {
			if d, _ := a.fetchConfig(i); d == nil || d.Version != want || !hasMember(d, ap.Member, "active") {
				return false
			}
		}
		return true
	})
	d0, _ := a.fetchConfig(0)
	for i := 1; i < 3; i++ {
		d, _ := a.fetchConfig(i)
		d.IssuedAt, d.ExpiresAt = d0.IssuedAt, d0.ExpiresAt
		b0, _ := d0.Canonical()
		b, _ := d.Canonical()
		if !bytes.Equal(b0, b) {
			t.Fatalf("server %d signs other content for version %d", i, want)
		}
	}
	if len(d0.RegistryServers) != 3 {
		t.Fatalf("registry servers %+v", d0.RegistryServers)
	}
	gc, err := globalconf.NewClient(a.anchor, t.TempDir(), globalconf.WithLogger(regtest.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gc.Close)
	doc, err := gc.Fetch(context.Background())
	if err != nil || !hasMember(doc, ap.Member, "active") {
		t.Fatalf("client fetch: %v", err)
	}

	// Every server's CA knows both certificates.
	node, _ := a.c.Server(0).Node(ap.PeerID)
	for i := range 3 {
		waitFor(t, 5*time.Second, "CA import", func() bool { return a.ocspStatus(i, node.Cert.DER) == ocsp.Good })
	}

	// Revocation through a follower: serials in every config, OCSP revoked everywhere.
	a.must(a.call(f1, http.MethodPost, "/v1/admin/members/revoke", a.token,
		map[string]string{"member": ap.Member, "reason": "keyCompromise"}), http.StatusOK)
	waitFor(t, 10*time.Second, "revocation in every config", func() bool {
		for i := range 3 {
			d, _ := a.fetchConfig(i)
			if d == nil || !hasMember(d, ap.Member, "revoked") {
				return false
			}
			serials := map[string]bool{}
			for _, rc := range d.Revoked {
				serials[rc.Serial] = true
			}
			if !serials[ar.NodeSerial] || !serials[ar.SignSerial] {
				return false
			}
		}
		return true
	})
	m, _ := a.c.Server(0).Member(ap.Member)
	for i := range 3 {
		waitFor(t, 5*time.Second, "CA revocation", func() bool {
			return a.ocspStatus(i, node.Cert.DER) == ocsp.Revoked && a.ocspStatus(i, m.SignCert.DER) == ocsp.Revoked
		})
	}

	// A tampered configuration is refused by the client.
	_, raw := a.fetchConfig(f1)
	var signed globalconf.Signed
	if err := json.Unmarshal(raw, &signed); err != nil {
		t.Fatal(err)
	}
	signed.Config = bytes.Replace(signed.Config, []byte(`"revoked"`), []byte(`"active"`), 1)
	tampered, _ := json.Marshal(signed)
	if _, err := gc.Accept(tampered); !errors.Is(err, globalconf.ErrSignature) {
		t.Fatalf("tampered config: %v", err)
	}

	// Health.
	a.must(a.call(f1, http.MethodGet, "/healthz", "", nil), http.StatusOK)
}

func TestHTTPAPIBadInput(t *testing.T) {
	a := newAPICluster(t)
	f1, f2 := a.followers()
	ctx := storetest.Context(t, 20*time.Second)
	viewer, _, err := a.c.Server(a.c.LeaderIndex()).CreateOperator(ctx, "alice", "victor", state.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	pending := regtest.NewApplicant(t, "H27")
	r := a.must(a.call(f1, http.MethodPost, "/v1/registrations", "", submitBody(pending)), http.StatusAccepted)
	var st client.RegistrationStatus
	json.Unmarshal(r.body, &st)
	leader := a.c.Server(a.c.LeaderIndex())
	if err := leader.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "servers to agree", func() bool {
		v := a.versions()
		return v[0] == v[1] && v[1] == v[2]
	})
	before := a.versions()

	fresh := regtest.NewApplicant(t, "H28")
	forged := submitBody(fresh)
	bad := slices.Clone(fresh.NodeCSR)
	bad[len(bad)-3] ^= 0xff // break the self-signature
	forged.NodeCSR = pemCSR(bad)
	sameKey := submitBody(fresh)
	sameKey.SignCSR = sameKey.NodeCSR
	dup := submitBody(regtest.NewApplicant(t, "H27")) // the pending member's code again
	oversized := `{"member":"` + strings.Repeat("A", api.MaxRegistrationBody) + `"}`

	approve := "/v1/admin/registrations/" + st.RequestID + "/approve"
	for _, c := range []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		code         string
	}{
		{"no token", http.MethodPost, approve, "", nil, 401, "unauthenticated"},
		{"wrong token", http.MethodPost, approve, strings.Repeat("ab", 32), nil, 401, "unauthenticated"},
		{"viewer approves", http.MethodPost, approve, viewer, nil, 403, "forbidden"},
		{"viewer sets policy", http.MethodPut, "/v1/admin/policy", viewer, state.DefaultPolicy(), 403, "forbidden"},
		{"malformed JSON", http.MethodPost, "/v1/registrations", "", `{"member":`, 400, "malformed"},
		{"unknown field", http.MethodPost, "/v1/registrations", "", `{"member":"x","extra":1}`, 400, "malformed"},
		{"trailing data", http.MethodPost, "/v1/registrations", "", `{} {}`, 400, "malformed"},
		{"oversized", http.MethodPost, "/v1/registrations", "", oversized, 413, "too_large"},
		{"duplicate member", http.MethodPost, "/v1/registrations", "", dup, 409, "duplicate_member"},
		{"forged CSR", http.MethodPost, "/v1/registrations", "", forged, 400, "csr_signature"},
		{"same key in both CSRs", http.MethodPost, "/v1/registrations", "", sameKey, 400, "bad_csr"},
		{"invalid form", http.MethodPost, "/v1/registrations", "", client.SubmitRequest{Member: fresh.Member}, 400, "invalid_registration"},
		{"unknown request", http.MethodGet, "/v1/registrations/nope", "", nil, 404, "unknown_request"},
		{"reject without reason", http.MethodPost, "/v1/admin/registrations/" + st.RequestID + "/reject", a.token, map[string]string{}, 400, "invalid_argument"},
		{"suspend pending member", http.MethodPost, "/v1/admin/members/suspend", a.token, map[string]string{"member": pending.Member, "reason": "x"}, 409, "illegal_transition"},
		{"internal apply without certificate", http.MethodPost, api.InternalApplyPath, "", "x", 401, "unauthenticated"},
	} {
		r := a.call(f2, c.method, c.path, c.token, c.body)
		if r.status != c.status || r.code() != c.code {
			t.Errorf("%s: got %d %s, want %d %s: %s", c.name, r.status, r.code(), c.status, c.code, r.body)
		}
	}
	if after := a.versions(); !slices.Equal(before, after) {
		t.Fatalf("a refused request changed the state: versions %v → %v", before, after)
	}
	// The operator token works, and the refused approval left the request pending.
	a.must(a.call(f2, http.MethodPost, approve, a.token, nil), http.StatusOK)
}

// BenchmarkApprovalToVerifiedConfig measures the time from an approval call
// (through a follower's HTTP API: CA issuance, forwarding, commit) returning
// to a globalconf.Client holding a verified configuration containing the
// new member: publisher debounce (20 ms here) plus signing plus fetching.
func BenchmarkApprovalToVerifiedConfig(b *testing.B) {
	a := newAPICluster(b)
	f1, f2 := a.followers()
	gc, err := globalconf.NewClient(a.anchor, "", globalconf.WithLogger(regtest.Logger()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(gc.Close)
	ctx := context.Background()
	var total time.Duration
	n := 0
	for i := 0; b.Loop(); i++ {
		n++
		b.StopTimer()
		ap := regtest.NewApplicant(b, fmt.Sprintf("B%05d", i))
		r := a.must(a.call(f1, http.MethodPost, "/v1/registrations", "", submitBody(ap)), http.StatusAccepted)
		var st client.RegistrationStatus
		json.Unmarshal(r.body, &st)
		a.must(a.call(f2, http.MethodPost, "/v1/admin/registrations/"+st.RequestID+"/approve", a.token, nil), http.StatusOK)
		b.StartTimer()
		start := time.Now()
		for {
			if d, err := gc.Fetch(ctx); err == nil && hasMember(d, ap.Member, "active") {
				break
			}
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/approval")
}

// TestForwarderRefusesNonRegistryServer: a member node's certificate chains
// to the network CA with serverAuth too, but a follower must not hand a
// command to anyone whose certificate the state does not record for a
// registry server, even when the leader's URL leads there.
func TestForwarderRefusesNonRegistryServer(t *testing.T) {
	a := newAPICluster(t)
	ctx := storetest.Context(t, 20*time.Second)
	key, iss := issueKey(t, a.cas[0], ca.ProfileNodeAuth, "GOV/IMPOSTOR")
	var hits atomic.Int32
	imp := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	imp.TLS = api.ServerTLSConfig(tls.Certificate{Certificate: [][]byte{iss.DER, a.cas[0].Intermediate().Raw}, PrivateKey: key}, a.roots)
	imp.StartTLS()
	t.Cleanup(imp.Close)

	leader := a.c.WaitLeader()
	rec := leader.State().RegistryServers[leader.ID()]
	if _, err := leader.Apply(ctx, &state.SetRegistryServer{Header: state.Header{Actor: "test"}, ID: leader.ID(), URL: imp.URL, CertSHA256: rec.CertSHA256}); err != nil {
		t.Fatal(err)
	}
	f, _ := a.followers()
	waitFor(t, 10*time.Second, "the follower to learn the new URL", func() bool {
		return a.c.Server(f).State().RegistryServers[leader.ID()].URL == imp.URL
	})
	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := a.c.Server(f).Apply(wctx, regtest.NewApplicant(t, "IMP").Submit("req-imp")); err == nil {
		t.Fatal("a write was forwarded to a server the state does not know")
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the impostor received %d requests", n)
	}
	if _, err := leader.Request("req-imp"); !errors.Is(err, state.ErrUnknownRequest) {
		t.Fatalf("request committed anyway: %v", err)
	}
}

// parsePEMChain parses concatenated PEM certificates, failing on anything else.
func parsePEMChain(t testing.TB, s string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("PEM block %q", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 || len(out) == 0 {
		t.Fatalf("not a PEM certificate chain: %q", s)
	}
	return out
}

// TestHTTPAPIRegistrationCertificates: GET /v1/registrations/{id}/certificates
// needs no token, answers 409 not_approved while pending or once rejected,
// 404 for an unknown ID, and after approval the certificates the approval
// returned, with the CA chain they verify against.
func TestHTTPAPIRegistrationCertificates(t *testing.T) {
	a := newAPICluster(t)
	f1, f2 := a.followers()
	ap, rej := regtest.NewApplicant(t, "RC1"), regtest.NewApplicant(t, "RC2")
	var st, st2 client.RegistrationStatus
	json.Unmarshal(a.must(a.call(f1, http.MethodPost, "/v1/registrations", "", submitBody(ap)), http.StatusAccepted).body, &st)
	json.Unmarshal(a.must(a.call(f1, http.MethodPost, "/v1/registrations", "", submitBody(rej)), http.StatusAccepted).body, &st2)
	path := func(id string) string { return "/v1/registrations/" + id + "/certificates" }

	if r := a.call(f1, http.MethodGet, path(st.RequestID), "", nil); r.status != http.StatusConflict || r.code() != "not_approved" {
		t.Fatalf("pending: %d %s", r.status, r.body)
	}
	if r := a.call(f1, http.MethodGet, path("nope"), "", nil); r.status != http.StatusNotFound || r.code() != "unknown_request" {
		t.Fatalf("unknown: %d %s", r.status, r.body)
	}
	a.must(a.call(f2, http.MethodPost, "/v1/admin/registrations/"+st2.RequestID+"/reject", a.token, client.ReasonBody{Reason: "incomplete"}), http.StatusOK)
	if r := a.call(f2, http.MethodGet, path(st2.RequestID), "", nil); r.status != http.StatusConflict || r.code() != "not_approved" {
		t.Fatalf("rejected: %d %s", r.status, r.body)
	}

	var ar client.ApproveResponse
	json.Unmarshal(a.must(a.call(f2, http.MethodPost, "/v1/admin/registrations/"+st.RequestID+"/approve", a.token, nil), http.StatusOK).body, &ar)
	var rc client.RegistrationCertificates
	r := a.must(a.call(f2, http.MethodGet, path(st.RequestID), "", nil), http.StatusOK)
	if err := json.Unmarshal(r.body, &rc); err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	json.Unmarshal(r.body, &fields)
	for _, k := range []string{"request_id", "member", "peer_id", "node_cert_pem", "sign_cert_pem", "ca_chain_pem"} {
		if _, ok := fields[k]; !ok || len(fields) != 6 {
			t.Fatalf("answer fields %v, want %s among 6", slices.Sorted(maps.Keys(fields)), k)
		}
	}
	if rc.RequestID != st.RequestID || rc.Member != ap.Member || rc.PeerID != ap.PeerID {
		t.Fatalf("certificates answer: %+v", rc)
	}
	if rc.NodeCert != ar.NodeCert || rc.SignCert != ar.SignCert {
		t.Fatalf("certificates differ from the approval's:\n%s\n%s", rc.NodeCert, ar.NodeCert)
	}
	node, sign, chain := parsePEMChain(t, rc.NodeCert), parsePEMChain(t, rc.SignCert), parsePEMChain(t, rc.CAChain)
	inter, root := a.cas[0].Intermediate(), a.cas[0].Root()
	if len(chain) != 2 || !chain[0].Equal(inter) || !chain[1].Equal(root) {
		t.Fatalf("CA chain: %d certificates", len(chain))
	}
	if len(node) != 2 || !node[1].Equal(inter) || len(sign) != 2 || !sign[1].Equal(inter) {
		t.Fatalf("node/sign chains: %d, %d certificates", len(node), len(sign))
	}
	if ca.SerialHex(node[0].SerialNumber) != ar.NodeSerial || ca.SerialHex(sign[0].SerialNumber) != ar.SignSerial {
		t.Fatal("serials differ from the approval's")
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[1])
	inters.AddCert(chain[0])
	for _, c := range []*x509.Certificate{node[0], sign[0]} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Fatalf("certificate %s does not verify against ca_chain_pem: %v", ca.SerialHex(c.SerialNumber), err)
		}
	}
	// A server that learns the approval by replication answers the same.
	waitFor(t, 10*time.Second, "the approval on f1", func() bool {
		r := a.call(f1, http.MethodGet, path(st.RequestID), "", nil)
		var got client.RegistrationCertificates
		return r.status == http.StatusOK && json.Unmarshal(r.body, &got) == nil && got == rc
	})
}
