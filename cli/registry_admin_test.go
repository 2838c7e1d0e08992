package cli

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/urfave/cli/v2"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/membership"
	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

const testInstance = "VN-TEST"

// testRegistry is a 1-server registry with its HTTP API on an httptest TLS
// server, assembled from exported membership APIs the way a registry
// daemon does: Server + API + Publisher + CASync over a real ca.Init CA.
type testRegistry struct {
	url        string
	anchorPath string
	rootPath   string
	tokenPath  string
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func issueTestKey(t *testing.T, c *ca.CA, profile ca.Profile, member string) (crypto.Signer, *ca.Issued) {
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

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	authority, err := ca.Init(filepath.Join(dir, "ca"), ca.Config{Instance: testInstance, Operator: "GOV/OPERATOR"},
		[]byte("test passphrase"), ca.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	root, inter := authority.Root(), authority.Intermediate()
	cfgKey, cfgIss := issueTestKey(t, authority, ca.ProfileRegistryConfig, "")
	tlsKey, tlsIss := issueTestKey(t, authority, ca.ProfileNodeAuth, "GOV/OPERATOR")

	_, trans := raft.NewInmemTransport("r1")
	srv, err := store.New(store.Config{ID: "r1", Dir: filepath.Join(dir, "raft"), Transport: trans,
		HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
		LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
		ApplyTimeout: 5 * time.Second, NoSync: true}, store.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Apply(ctx, &state.InitInstance{Header: state.Header{Actor: "bootstrap"}, Instance: testInstance,
		CAChain: [][]byte{inter.Raw, root.Raw}}); err != nil {
		t.Fatal(err)
	}
	token, _, err := srv.CreateOperator(ctx, "bootstrap", "alice", state.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := membership.NewPublisher(srv, membership.PublisherConfig{Key: cfgKey,
		Chain: []*x509.Certificate{cfgIss.Chain[0], inter}, Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sync := membership.NewCASync(srv, authority)
	roots := x509.NewCertPool()
	roots.AddCert(root)
	hs := httptest.NewUnstartedServer(api.New(srv, api.Config{CA: authority, Publisher: pub, Logger: quietLogger()}))
	hs.TLS = api.ServerTLSConfig(tls.Certificate{Certificate: [][]byte{tlsIss.DER, inter.Raw}, PrivateKey: tlsKey}, roots)
	hs.StartTLS()
	t.Cleanup(func() {
		hs.Close()
		pub.Close()
		sync.Close()
		srv.Close()
		authority.Close()
	})
	if _, err := srv.Apply(ctx, &state.SetRegistryServer{Header: state.Header{Actor: "bootstrap"}, ID: "r1",
		URL: hs.URL, CertSHA256: ca.Fingerprint(tlsIss.Chain[0])}); err != nil {
		t.Fatal(err)
	}
	anchor, err := globalconf.NewAnchor(testInstance, root, cfgIss.Chain[0], []string{hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := &testRegistry{url: hs.URL, anchorPath: filepath.Join(dir, "anchor.json"), rootPath: filepath.Join(dir, "root.pem"),
		tokenPath: filepath.Join(dir, "operator.token")}
	if err := anchor.Save(r.anchorPath); err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.rootPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}))
	writeFile(t, r.tokenPath, []byte(token+"\n"))
	return r
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeCSR writes a fresh Ed25519 key's PEM certificate request to dir/name.
func writeCSR(t *testing.T, dir, name string) string {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name, Organization: []string{"So TTTT Ha Noi"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	writeFile(t, path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	return path
}

// reg runs `dxl registry ARGS…` with only this file's subcommands under
// registry (the registry command itself is assembled elsewhere).
func reg(ctx context.Context, args ...string) (string, error) {
	var out testutil.SyncBuffer
	app := &cli.App{Name: "dxl", Flags: App().Flags, Writer: &out, ErrWriter: io.Discard,
		ExitErrHandler: func(*cli.Context, error) {},
		Commands:       []*cli.Command{{Name: "registry", Subcommands: registryAdminCommands()}}}
	err := app.RunContext(ctx, append([]string{"dxl", "--log-level", "warn", "registry"}, args...))
	return out.String(), err
}

// TestRegistryAdminCommands walks the admission workflow through the
// commands: submit → approve → member list → config fetch (verified, with
// the member) → revoke → the revoked serials in the fetched, shown and
// verified configuration.
func TestRegistryAdminCommands(t *testing.T) {
	r := newTestRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	work := t.TempDir()
	t.Setenv(EnvOperatorToken, "")
	t.Setenv(EnvRegistry, "")
	member := testInstance + "/GOV/000.00.00.H26"
	nodeCSR, signCSR := writeCSR(t, work, "node.csr"), writeCSR(t, work, "sign.csr")
	conn := []string{"--anchor", r.anchorPath}
	admin := append(slices.Clone(conn), "--token-file", r.tokenPath)
	run := func(args ...string) string {
		t.Helper()
		out, err := reg(ctx, args...)
		if err != nil {
			t.Fatalf("dxl registry %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	with := func(base []string, args ...string) []string {
		return append(slices.Clone(args[:2]), append(slices.Clone(base), args[2:]...)...)
	}

	// Submit (public; URLs and trust from the anchor) with the shipped example form.
	var st client.RegistrationStatus
	mustJSON(t, run(with(conn, "request", "submit", "--json", "--member", member, "--form", "../docs/examples/registration.json",
		"--node-csr", nodeCSR, "--sign-csr", signCSR, "--addr", "/ip4/10.0.0.1/tcp/4001")...), &st)
	if st.Status != state.RequestPending || st.RequestID == "" {
		t.Fatalf("submit: %+v", st)
	}
	// Public status, with --registry and --root instead of the anchor.
	if out := run("request", "status", "--registry", r.url, "--root", r.rootPath, st.RequestID); !strings.Contains(out, "pending") {
		t.Fatalf("request status: %s", out)
	}
	var list []client.RequestSummary
	mustJSON(t, run(with(admin, "request", "list", "--json", "--status", "pending")...), &list)
	if len(list) != 1 || list[0].Member != member {
		t.Fatalf("request list: %+v", list)
	}
	if out := run(with(admin, "request", "show", st.RequestID)...); !strings.Contains(out, "So Thong tin va Truyen thong Ha Noi") {
		t.Fatalf("request show: %s", out)
	}

	// Approve with the token from the environment.
	t.Setenv(EnvOperatorToken, strings.TrimSpace(string(must(os.ReadFile(r.tokenPath)))))
	var ar client.ApproveResponse
	mustJSON(t, run(with(conn, "request", "approve", "--json", st.RequestID)...), &ar)
	if ar.NodeSerial == "" || ar.SignSerial == "" || !strings.Contains(ar.NodeCert, "BEGIN CERTIFICATE") {
		t.Fatalf("approve: %+v", ar)
	}
	var members []state.Member
	mustJSON(t, run(with(conn, "member", "list", "--json")...), &members)
	if len(members) != 1 || members[0].ID.String() != member || members[0].Status != ident.MemberActive {
		t.Fatalf("member list: %+v", members)
	}
	if out := run(with(conn, "member", "list")...); !strings.Contains(out, member) || !strings.Contains(out, "active") {
		t.Fatalf("member list table: %s", out)
	}

	// The fetched configuration verifies and lists the member (the publisher
	// re-signs shortly after each change: poll).
	cfgFile := filepath.Join(work, "global-config.json")
	var sum configSummary
	waitFor(t, "the member in the signed config", func() bool {
		out, err := reg(ctx, "config", "fetch", "--anchor", r.anchorPath, "--json")
		if err != nil {
			t.Fatalf("config fetch: %v\n%s", err, out)
		}
		mustJSON(t, out, &sum)
		return slices.ContainsFunc(sum.Members, func(m globalconf.Member) bool { return m.ID == member && m.Status == "active" })
	})
	if !sum.Verified || sum.Version == 0 || sum.Instance != testInstance || sum.AgeSeconds < 0 || sum.Expired {
		t.Fatalf("config fetch summary: %+v", sum)
	}
	out := run("config", "fetch", "--anchor", r.anchorPath, "--out", cfgFile)
	for _, want := range []string{"VERIFIED", "version:", "issued:", "expires:", "age", member} {
		if !strings.Contains(out, want) {
			t.Fatalf("config fetch output lacks %q:\n%s", want, out)
		}
	}

	// Suspend, reactivate, cancel nothing; then revoke.
	run(with(conn, "member", "suspend", "--reason", "audit", member)...)
	run(with(conn, "member", "reactivate", member)...)
	run(with(conn, "member", "revoke", "--reason", "keyCompromise", "--note", "laptop stolen", member)...)
	var hist []state.HistoryEntry
	mustJSON(t, run(with(conn, "history", "--json", "--target", member)...), &hist)
	if len(hist) < 3 || hist[len(hist)-1].Action != "revoke_member" || hist[len(hist)-1].Actor != "alice" {
		t.Fatalf("history: %+v", hist)
	}
	// The whole history exports to a file that verifies offline; a changed
	// byte does not.
	histFile := filepath.Join(work, "history.jsonl")
	var exp, ver historyVerification
	mustJSON(t, run(with(conn, "history", "export", "--json", "--out", histFile)...), &exp)
	if !exp.Verified || exp.Entries < 5 || exp.HeadHash == "" || exp.File != histFile {
		t.Fatalf("history export: %+v", exp)
	}
	mustJSON(t, run("history", "verify", "--json", histFile), &ver)
	if ver.Entries != exp.Entries || ver.HeadHash != exp.HeadHash || ver.LastIndex != exp.LastIndex {
		t.Fatalf("history verify: %+v, export %+v", ver, exp)
	}
	if out := run("history", "verify", histFile); !strings.Contains(out, "VERIFIED") || !strings.Contains(out, exp.HeadHash) {
		t.Fatalf("history verify: %s", out)
	}
	if _, err := reg(ctx, with(conn, "history", "export", "--out", histFile)...); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("export overwrote without --force: %v", err)
	}
	streamed := run(with(conn, "history", "export")...)
	if !strings.HasPrefix(streamed, string(must(os.ReadFile(histFile)))) {
		t.Fatalf("export to stdout differs from the file:\n%s", streamed)
	}
	changed := filepath.Join(work, "changed-history.jsonl")
	writeFile(t, changed, []byte(strings.Replace(streamed, `"actor":"alice"`, `"actor":"alicf"`, 1)))
	if _, err := reg(ctx, "history", "verify", changed); !errors.Is(err, state.ErrHistoryChain) {
		t.Fatalf("verify of a changed export: %v", err)
	}

	waitFor(t, "the revoked serials in the signed config", func() bool {
		out, err := reg(ctx, "config", "fetch", "--anchor", r.anchorPath, "--out", cfgFile, "--force", "--json")
		if err != nil {
			t.Fatalf("config fetch: %v\n%s", err, out)
		}
		mustJSON(t, out, &sum)
		var serials []string
		for _, rc := range sum.Revoked {
			serials = append(serials, rc.Serial)
		}
		return slices.Contains(serials, ar.NodeSerial) && slices.Contains(serials, ar.SignSerial)
	})
	// show (no trust) and verify (against the anchor) read the saved file.
	out = run("config", "show", cfgFile)
	for _, want := range []string{"NOT VERIFIED", ar.NodeSerial, ar.SignSerial, "revoked"} {
		if !strings.Contains(out, want) {
			t.Fatalf("config show lacks %q:\n%s", want, out)
		}
	}
	if out := run("config", "verify", "--anchor", r.anchorPath, cfgFile); !strings.Contains(out, "VERIFIED against the anchor") {
		t.Fatalf("config verify: %s", out)
	}
	// A tampered copy fails verification with the reason.
	raw := must(os.ReadFile(cfgFile))
	tampered := filepath.Join(work, "tampered.json")
	writeFile(t, tampered, []byte(strings.Replace(string(raw), `"signature":"`, `"signature":"AAAA`, 1)))
	if _, err := reg(ctx, "config", "verify", "--anchor", r.anchorPath, tampered); !errors.Is(err, globalconf.ErrSignature) &&
		!errors.Is(err, globalconf.ErrMalformed) {
		t.Fatalf("tampered config verified: %v", err)
	}

	// Errors from the registry come back as the sentinels.
	if _, err := reg(ctx, with(conn, "member", "show", testInstance+"/GOV/NOPE")...); !errors.Is(err, state.ErrUnknownMember) {
		t.Fatalf("unknown member: %v", err)
	}
	if _, err := reg(ctx, with(conn, "request", "approve", st.RequestID)...); !errors.Is(err, state.ErrIllegalTransition) {
		t.Fatalf("approving twice: %v", err)
	}
}

// TestRegistryAdminErrors: missing token, bad form files, bad connection
// settings give clear errors before anything reaches a server.
func TestRegistryAdminErrors(t *testing.T) {
	r := newTestRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	work := t.TempDir()
	t.Setenv(EnvOperatorToken, "")
	t.Setenv(EnvRegistry, "")
	nodeCSR, signCSR := writeCSR(t, work, "node.csr"), writeCSR(t, work, "sign.csr")

	// No token.
	_, err := reg(ctx, "member", "list", "--anchor", r.anchorPath)
	if err == nil || !strings.Contains(err.Error(), "no operator token") || !strings.Contains(err.Error(), EnvOperatorToken) {
		t.Fatalf("missing token: %v", err)
	}
	// A wrong token is refused by the server; the token is not echoed.
	bad := filepath.Join(work, "bad.token")
	writeFile(t, bad, []byte(strings.Repeat("ab", 32)))
	if _, err := reg(ctx, "member", "list", "--anchor", r.anchorPath, "--token-file", bad); !errors.Is(err, state.ErrUnauthenticated) ||
		strings.Contains(err.Error(), strings.Repeat("ab", 32)) {
		t.Fatalf("wrong token: %v", err)
	}
	// No URL, no trust.
	if _, err := reg(ctx, "request", "status", "x"); err == nil || !strings.Contains(err.Error(), "no registry URL") {
		t.Fatalf("no URL: %v", err)
	}
	if _, err := reg(ctx, "request", "status", "--registry", r.url, "x"); err == nil || !strings.Contains(err.Error(), "no trust root") {
		t.Fatalf("no trust root: %v", err)
	}
	if _, err := reg(ctx, "config", "verify", "x.json"); err == nil || !strings.Contains(err.Error(), "--anchor") {
		t.Fatalf("verify without anchor: %v", err)
	}

	example := string(must(os.ReadFile("../docs/examples/registration.json")))
	for _, c := range []struct {
		name, form string
		want       []string
		is         error
	}{
		{"unknown field", strings.Replace(example, `"security_level"`, `"securty_level"`, 1), []string{`unknown field "securty_level"`}, nil},
		{"wrong type", strings.Replace(example, `"security_level": 3`, `"security_level": "3"`, 1), []string{"security_level", "string"}, nil},
		{"syntax", example[:len(example)/2], []string{"invalid JSON", "form.json:"}, nil},
		{"invalid email", strings.Replace(example, "cntt@hanoi.gov.vn", "not an address", 1), []string{"technical_contact.email"}, state.ErrInvalidRegistration},
		{"missing field", strings.Replace(example, `"Giam doc"`, `""`, 1), []string{"representative.title", "required"}, state.ErrInvalidRegistration},
		{"top secret", strings.Replace(example, `"highest_classification": "internal"`, `"highest_classification": "top_secret"`, 1), []string{"highest_classification"}, state.ErrClassificationRefused},
	} {
		form := filepath.Join(work, "form.json")
		writeFile(t, form, []byte(c.form))
		_, err := reg(ctx, "request", "submit", "--anchor", r.anchorPath, "--member", testInstance+"/GOV/X1", "--form", form,
			"--node-csr", nodeCSR, "--sign-csr", signCSR)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v is not %v", c.name, err, c.is)
		}
	}
	// A key file where a CSR belongs.
	if _, err := reg(ctx, "request", "submit", "--anchor", r.anchorPath, "--member", testInstance+"/GOV/X1",
		"--form", "../docs/examples/registration.json", "--node-csr", bad, "--sign-csr", signCSR); err == nil ||
		!strings.Contains(err.Error(), "--node-csr") {
		t.Fatalf("bad CSR file: %v", err)
	}
	// Nothing reached the registry.
	if out, err := reg(ctx, "request", "list", "--anchor", r.anchorPath, "--token-file", r.tokenPath, "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("requests after refused submissions: %v %s", err, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// registryCLI drives a test registry through `dxl registry` for 60 s:
// run runs a command (the test fails on an error) and returns its output;
// with puts flags (conn: the anchor; admin: also the operator token) after
// a command's first two words.
type registryCLI struct {
	t           *testing.T
	ctx         context.Context
	r           *testRegistry
	conn, admin []string
}

func newRegistryCLI(t *testing.T) *registryCLI {
	r := newTestRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	t.Setenv(EnvOperatorToken, "")
	t.Setenv(EnvRegistry, "")
	conn := []string{"--anchor", r.anchorPath}
	return &registryCLI{t: t, ctx: ctx, r: r, conn: conn, admin: append(slices.Clone(conn), "--token-file", r.tokenPath)}
}

func (c *registryCLI) run(args ...string) string {
	c.t.Helper()
	out, err := reg(c.ctx, args...)
	if err != nil {
		c.t.Fatalf("dxl registry %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *registryCLI) with(base []string, args ...string) []string {
	return append(slices.Clone(args[:2]), append(slices.Clone(base), args[2:]...)...)
}

// submit submits member's registration (the example form, new CSRs in work).
func (c *registryCLI) submit(work, member string) client.RegistrationStatus {
	c.t.Helper()
	var st client.RegistrationStatus
	mustJSON(c.t, c.run(c.with(c.conn, "request", "submit", "--json", "--member", member, "--form", "../docs/examples/registration.json",
		"--node-csr", writeCSR(c.t, work, "node.csr"), "--sign-csr", writeCSR(c.t, work, "sign.csr"))...), &st)
	return st
}

// TestRegistryServiceCommands: after an approval the applicant fetches its
// certificates without a token; an operator publishes, deprecates and
// retires a service of the new subsystem and sets and deletes a group.
func TestRegistryServiceCommands(t *testing.T) {
	cl := newRegistryCLI(t)
	r, ctx, conn, admin, run, with := cl.r, cl.ctx, cl.conn, cl.admin, cl.run, cl.with
	work := t.TempDir()
	member := testInstance + "/GOV/000.00.00.H26"
	st := cl.submit(work, member)
	certDir := filepath.Join(work, "certs")
	if _, err := reg(ctx, with(conn, "request", "certificates", "--out-dir", certDir, st.RequestID)...); !errors.Is(err, state.ErrNotApproved) {
		t.Fatalf("certificates of a pending request: %v", err)
	}
	var ar client.ApproveResponse
	mustJSON(t, run(with(admin, "request", "approve", "--json", st.RequestID)...), &ar)

	// Certificates: files, then JSON; both public.
	out := run(with(conn, "request", "certificates", "--out-dir", certDir, st.RequestID)...)
	if !strings.Contains(out, filepath.Join(certDir, FileNodeCertPEM)) {
		t.Fatalf("certificates output: %s", out)
	}
	if got := string(must(os.ReadFile(filepath.Join(certDir, FileNodeCertPEM)))); got != ar.NodeCert {
		t.Fatalf("node.pem is not the approved certificate:\n%s", got)
	}
	if got := string(must(os.ReadFile(filepath.Join(certDir, FileSignCertPEM)))); got != ar.SignCert {
		t.Fatalf("sign.pem is not the approved certificate:\n%s", got)
	}
	chain := must(os.ReadFile(filepath.Join(certDir, FileCAChainPEM)))
	root := must(os.ReadFile(r.rootPath))
	if n := strings.Count(string(chain), "BEGIN CERTIFICATE"); n != 2 || !strings.HasSuffix(string(chain), string(root)) {
		t.Fatalf("ca-chain.pem: %d certificates, root last: %v", n, strings.HasSuffix(string(chain), string(root)))
	}
	b, _ := pem.Decode([]byte(ar.NodeCert))
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		t.Fatal(err)
	}
	if _, err := reg(ctx, with(conn, "request", "certificates", "--out-dir", certDir, st.RequestID)...); err == nil ||
		!strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrote without --force: %v", err)
	}
	var rc client.RegistrationCertificates
	mustJSON(t, run(with(conn, "request", "certificates", "--json", st.RequestID)...), &rc)
	if rc.NodeCert != ar.NodeCert || rc.SignCert != ar.SignCert || rc.CAChain != string(chain) || rc.PeerID != ar.PeerID {
		t.Fatalf("certificates --json: %+v", rc)
	}

	// Services.
	var md client.MemberDetail
	mustJSON(t, run(with(admin, "member", "show", "--json", member)...), &md)
	sub := md.Subsystems[0].ID
	desc := filepath.Join(work, "openapi.yaml")
	writeFile(t, desc, []byte("openapi: 3.1.0\n"))
	sum := sha256.Sum256([]byte("openapi: 3.1.0\n"))
	svc := sub + "/lookup/v1"
	var res state.Result
	mustJSON(t, run(with(admin, "service", "publish", "--json", "--subsystem", sub, "--code", "lookup", "--version", "v1",
		"--description", desc)...), &res)
	if res.Target != svc || res.Index == 0 {
		t.Fatalf("publish: %+v", res)
	}
	hist := func() state.HistoryEntry {
		var h []state.HistoryEntry
		mustJSON(t, run(with(admin, "history", "--json", "--target", svc)...), &h)
		return h[len(h)-1]
	}
	if h := hist(); !strings.Contains(h.Detail, hex.EncodeToString(sum[:])) {
		t.Fatalf("published hash: %+v", h)
	}
	// What the subsystem takes by asynchronous delivery.
	if out := run(with(admin, "subsystem", "documents", "--subsystem", sub, "--accept", "quyet-dinh", "--accept", "cong-van", "--member-inbox")...); !strings.Contains(out, "documents set for "+sub) {
		t.Fatalf("subsystem documents: %s", out)
	}
	mustJSON(t, run(with(admin, "member", "show", "--json", member)...), &md)
	if d := md.Subsystems[0].Documents; d == nil || !d.MemberInbox || strings.Join(d.Accepts, ",") != "cong-van,quyet-dinh" {
		t.Fatalf("declaration %+v", d)
	}
	if _, err := reg(ctx, with(admin, "subsystem", "documents", "--subsystem", sub, "--accept", strings.Repeat("t", 129))...); err == nil || !strings.Contains(err.Error(), "invalid_argument") {
		t.Fatalf("a data type of 129 bytes: %v", err)
	}
	other := strings.Repeat("0f", 32)
	run(with(admin, "service", "publish", "--subsystem", sub, "--code", "lookup", "--version", "v1", "--description-sha256", other)...)
	if h := hist(); !strings.Contains(h.Detail, other) {
		t.Fatalf("updated hash: %+v", h)
	}
	// Classification: the registration declared internal at most.
	run(with(admin, "service", "publish", "--subsystem", sub, "--code", "lookup", "--version", "v1", "--description-sha256", other, "--classification", "public")...)
	if h := hist(); !strings.HasSuffix(h.Detail, ", public") {
		t.Fatalf("classified public: %+v", h)
	}
	if _, err := reg(ctx, with(admin, "service", "publish", "--subsystem", sub, "--code", "lookup", "--version", "v1", "--description-sha256", other,
		"--classification", "secret")...); err == nil || !strings.Contains(err.Error(), "classification_above_registration") {
		t.Fatalf("secret above an internal registration: %v", err)
	}
	if _, err := reg(ctx, with(admin, "service", "publish", "--subsystem", sub, "--code", "x", "--description", desc, "--description-sha256", other)...); err == nil ||
		!strings.Contains(err.Error(), "not both") {
		t.Fatalf("publish with two descriptions: %v", err)
	}
	// A plain REST service: no description.
	if out := run(with(admin, "service", "publish", "--subsystem", sub, "--code", "plain")...); !strings.Contains(out, "published "+sub+"/plain") {
		t.Fatalf("publish without a description: %s", out)
	}
	if _, err := reg(ctx, with(admin, "service", "deprecate", "--sunset", "tomorrow", svc)...); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Fatalf("bad sunset: %v", err)
	}
	sunset := time.Now().Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if out := run(with(admin, "service", "deprecate", "--sunset", sunset, svc)...); !strings.Contains(out, "deprecated "+svc) {
		t.Fatalf("deprecate: %s", out)
	}
	if h := hist(); !strings.Contains(h.Detail, "sunset "+sunset) {
		t.Fatalf("deprecated: %+v", h)
	}
	run(with(admin, "service", "retire", svc)...)
	if _, err := reg(ctx, with(admin, "service", "retire", svc)...); !errors.Is(err, state.ErrIllegalTransition) {
		t.Fatalf("retiring twice: %v", err)
	}

	// Groups.
	if out := run(with(admin, "group", "set", "--description", "health data exchange", "--member", sub, "health")...); !strings.Contains(out, "health") {
		t.Fatalf("group set: %s", out)
	}
	run(with(admin, "group", "delete", "health")...)
	if _, err := reg(ctx, with(admin, "group", "delete", "health")...); !errors.Is(err, state.ErrUnknownGroup) {
		t.Fatalf("deleting twice: %v", err)
	}
}
