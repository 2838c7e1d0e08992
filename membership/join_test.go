package membership

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/doctor"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

const daemonPass = "daemon test passphrase"

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func fastRaft(c *store.Config) {
	c.NoSync = true
	c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 150*time.Millisecond
}

func daemonOpts() []RegistryOption {
	return []RegistryOption{WithRegistryLogger(regtest.Logger()), WithRaftConfig(fastRaft)}
}

// initDaemon creates and starts the first server of a cluster.
func initDaemon(t *testing.T, dir string) (*Registry, *InitResult) {
	t.Helper()
	ctx := storetest.Context(t, 60*time.Second)
	api := freePort(t)
	res, err := InitFirst(ctx, dir, InitOptions{Instance: regtest.Instance, ServerAddrs: ServerAddrs{ID: "reg-1", RaftAddr: freePort(t), APIAddr: api,
		APIURL: "https://" + api, IPs: []net.IP{net.ParseIP("127.0.0.1")}}, Operator: "GOV/OPERATOR"}, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, dir, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if _, err := r.Server().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return r, res
}

func joinOpts(token, id string) JoinOptions {
	return JoinOptions{Token: token, ServerAddrs: ServerAddrs{ID: id, RaftAddr: "127.0.0.1:1", APIAddr: "127.0.0.1:2", APIURL: "https://127.0.0.1:2"}}
}

// TestJoinTokenRefusals: a wrong secret, a wrong root pin, a reused and an
// expired token are refused with their errors; the registry's state does
// not change and the joiner's directory gets no registry.json.
func TestJoinTokenRefusals(t *testing.T) {
	ctx := storetest.Context(t, 60*time.Second)
	work := t.TempDir()
	r, _ := initDaemon(t, filepath.Join(work, "r1"))
	s := r.Server()

	tok, err := r.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := ParseJoinToken(tok.Token)
	if err != nil || ticket.APIURL != r.URL() {
		t.Fatalf("token %+v: %v", ticket, err)
	}
	if ticket.RootSHA256 != ca.Fingerprint(r.root) {
		t.Fatal("token pins another root")
	}
	refused := func(name string, token string, want error) {
		t.Helper()
		before := s.Version()
		dir := filepath.Join(work, name)
		_, err := JoinCluster(ctx, dir, joinOpts(token, "reg-x"), []byte(daemonPass))
		if want != nil && !errors.Is(err, want) || err == nil {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
		if v := s.Version(); v != before {
			t.Fatalf("%s: version %d → %d", name, before, v)
		}
		if _, err := os.Stat(filepath.Join(dir, FileRegistry)); err == nil {
			t.Fatalf("%s: joiner directory written", name)
		}
	}
	wrong := ticket
	wrong.Secret = strings.Repeat("ab", 32)
	refused("wrong-secret", wrong.String(), state.ErrJoinTokenUnknown)
	pin := ticket
	pin.RootSHA256 = strings.Repeat("00", 32)
	refused("wrong-root", pin.String(), nil)
	refused("garbage", "dxljoin1.not-base64!", state.ErrJoinTokenUnknown)
	if _, err := ParseJoinToken(JoinTicket{APIURL: "http://x", RootSHA256: ticket.RootSHA256, Secret: ticket.Secret}.String()); !errors.Is(err, state.ErrJoinTokenUnknown) {
		t.Fatalf("plain http token: %v", err)
	}

	// A good join consumes the token; the same token again is refused.
	res, err := JoinCluster(ctx, filepath.Join(work, "ok"), joinOpts(tok.Token, "reg-2"), []byte(daemonPass))
	if err != nil {
		t.Fatal(err)
	}
	if res.Instance != regtest.Instance || res.JoinURL != r.URL() {
		t.Fatalf("join result %+v", res)
	}
	if rs := s.State().RegistryServers["reg-2"]; rs.URL != "https://127.0.0.1:2" {
		t.Fatalf("reg-2 not recorded: %+v", rs)
	}
	refused("reused", tok.Token, state.ErrJoinTokenUsed)

	short, err := r.CreateJoinToken(ctx, "admin", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(short.ExpiresAt.Add(10 * time.Millisecond)) {
		time.Sleep(10 * time.Millisecond) // wall-clock expiry is what is tested
	}
	refused("expired", short.Token, state.ErrJoinTokenExpired)

	// A server ID already taken is refused as well, and spends nothing.
	tok3, err := r.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	before := s.Version()
	if _, err := JoinCluster(ctx, filepath.Join(work, "dup"), joinOpts(tok3.Token, "reg-1"), []byte(daemonPass)); !errors.Is(err, state.ErrIllegalTransition) {
		t.Fatalf("duplicate ID: %v", err)
	}
	if s.Version() != before {
		t.Fatal("duplicate ID changed the state")
	}
}

// TestJoinTokenApply checks the commands on the state directly, with
// explicit times: expiry, reuse, unknown, and no change on refusal.
func TestJoinTokenApply(t *testing.T) {
	st := state.NewState()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	idx := uint64(1)
	apply := func(c state.Command, at time.Time) error {
		c.CommandHeader().Actor, c.CommandHeader().Time = "t", at
		if c.Type() != state.CmdInitInstance { // its prepare wants real certificates
			if err := c.Prepare(nil); err != nil {
				return err
			}
		}
		idx++
		_, err := st.Apply(idx, c)
		return err
	}
	if err := apply(&state.InitInstance{Instance: regtest.Instance, CAChain: [][]byte{{1}}}, t0); err != nil {
		t.Fatal(err)
	}
	h := strings.Repeat("1", 64)
	if err := apply(&state.CreateJoinToken{SecretSHA256: h, ExpiresAt: t0.Add(time.Hour)}, t0); err != nil {
		t.Fatal(err)
	}
	enc := func() string { b, _ := st.Encode(); return string(b) }
	cases := []struct {
		name string
		cmd  state.Command
		at   time.Time
		want error
	}{
		{"unknown", &state.ConsumeJoinToken{SecretSHA256: strings.Repeat("2", 64), ServerID: "r2"}, t0, state.ErrJoinTokenUnknown},
		{"expired", &state.ConsumeJoinToken{SecretSHA256: h, ServerID: "r2"}, t0.Add(time.Hour), state.ErrJoinTokenExpired},
		{"too long", &state.CreateJoinToken{SecretSHA256: strings.Repeat("3", 64), ExpiresAt: t0.Add(state.MaxJoinTokenTTL + time.Second)}, t0, state.ErrInvalidArgument},
		{"past", &state.CreateJoinToken{SecretSHA256: strings.Repeat("3", 64), ExpiresAt: t0}, t0, state.ErrInvalidArgument},
	}
	for _, c := range cases {
		before := enc()
		if err := apply(c.cmd, c.at); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
		if enc() != before {
			t.Fatalf("%s changed the state", c.name)
		}
	}
	if err := apply(&state.ConsumeJoinToken{SecretSHA256: h, ServerID: "r2"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	before := enc()
	if err := apply(&state.ConsumeJoinToken{SecretSHA256: h, ServerID: "r3"}, t0.Add(2*time.Minute)); !errors.Is(err, state.ErrJoinTokenUsed) {
		t.Fatalf("reuse: %v", err)
	}
	if enc() != before {
		t.Fatal("reuse changed the state")
	}
	if tk := st.JoinTokens[h]; tk.UsedBy != "r2" || tk.CreatedBy != "t" {
		t.Fatalf("token record %+v", tk)
	}
	// Old tokens are pruned when a new one is created.
	if err := apply(&state.CreateJoinToken{SecretSHA256: strings.Repeat("4", 64), ExpiresAt: t0.Add(9 * 24 * time.Hour)}, t0.Add(8*24*time.Hour+2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.JoinTokens[h]; ok || len(st.JoinTokens) != 1 {
		t.Fatalf("tokens after prune: %d", len(st.JoinTokens))
	}
}

// TestDaemonJoinOverMutualTLS: a second server joins with a token, starts,
// becomes a voter through the Raft mTLS transport, forwards a write to the
// leader and serves HTTPS a curl-like client verifies by IP address; a
// node-auth certificate is refused by the Raft listener.
func TestDaemonJoinOverMutualTLS(t *testing.T) {
	ctx := storetest.Context(t, 90*time.Second)
	work := t.TempDir()
	r1, _ := initDaemon(t, filepath.Join(work, "r1"))
	tok, err := r1.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	api := freePort(t)
	dir2 := filepath.Join(work, "r2")
	if _, err := JoinCluster(ctx, dir2, JoinOptions{Token: tok.Token, ServerAddrs: ServerAddrs{ID: "reg-2", RaftAddr: freePort(t), APIAddr: api,
		APIURL: "https://" + api, IPs: []net.IP{net.ParseIP("127.0.0.1")}}}, []byte(daemonPass)); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, dir2, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r2.Close() })
	waitUntil(t, ctx, "two voters", func() bool {
		st := r2.Server().Status()
		return len(st.Servers) == 2 && st.LeaderID == "reg-1" && r2.Server().Version() == r1.Server().Version()
	})
	// A write through the follower is forwarded over HTTPS mTLS.
	if _, err := r2.CreateJoinToken(ctx, "admin", time.Hour); err != nil {
		t.Fatalf("forwarded write: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(r1.root)
	web := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer web.CloseIdleConnections()
	waitUntil(t, ctx, "r2 publishes", func() bool {
		resp, err := web.Get(r2.URL() + "/v1/global-config")
		if err != nil {
			t.Logf("get: %v", err)
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// reg-1's doctor reaches reg-2 and compares the clocks.
	waitUntil(t, ctx, "reg-1's doctor reaches reg-2", func() bool {
		return findings(Doctor(ctx, r1.dir, DoctorOptions{}))["peer reg-2"].Status == doctor.OK
	})
	ahead := DoctorOptions{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }}
	if p := findings(Doctor(ctx, r1.dir, ahead))["peer reg-2"]; p.Status != doctor.Error || !strings.Contains(p.Fix, "timedatectl") {
		t.Fatalf("a clock two minutes off: %+v", p)
	}

	// Raft peers must be registry servers: a node-auth certificate from the
	// same CA is refused.
	_, iss := issueKey(t, r1.ca, ca.ProfileNodeAuth, "GOV/OPERATOR")
	if err := verifyRegistryPeer(iss.Chain[:2], roots, x509.ExtKeyUsageClientAuth, nil); err == nil {
		t.Fatal("node-auth certificate accepted as a registry peer")
	}
	if err := verifyRegistryPeer([]*x509.Certificate{r1.tlsCert.Leaf, r1.inter}, roots, x509.ExtKeyUsageClientAuth, nil); err != nil {
		t.Fatal(err)
	}
	nodeKey, nodeIss := issueKey(t, r1.ca, ca.ProfileNodeAuth, "GOV/OPERATOR")
	if !raftRefuses(t, ctx, tls.Certificate{Certificate: [][]byte{nodeIss.DER, r1.inter.Raw}, PrivateKey: nodeKey}, roots, r1.file.RaftListen) {
		t.Fatal("raft listener accepted a node-auth client certificate")
	}
	if raftRefuses(t, ctx, r2.tlsCert, roots, r1.file.RaftListen) {
		t.Fatal("raft listener refused a current registry server")
	}

	// Removing reg-2 revokes its certificate: the configuration lists it and
	// the Raft listener refuses it from then on.
	serial := ca.SerialHex(r2.tlsCert.Leaf.SerialNumber)
	// Under load the two-server cluster may be between leaders: retry.
	for {
		_, err := r1.RemoveServer(ctx, "admin", "reg-2")
		if err == nil {
			break
		}
		if !errors.Is(err, state.ErrNotLeader) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rc, ok := r1.Server().State().Revoked[serial]; !ok || rc.Reason != "cessationOfOperation" {
		t.Fatalf("removed server's certificate %s not revoked: %+v", serial, rc)
	}
	if !raftRefuses(t, ctx, r2.tlsCert, roots, r1.file.RaftListen) {
		t.Fatal("raft listener accepted a removed server's certificate")
	}
}

// raftRefuses dials a Raft listener with cert and reports whether the
// server refused it. With TLS 1.3 the refusal (an alert) arrives after the
// client's handshake, on the first read; an accepted connection instead
// waits for a Raft RPC, so the read times out.
func raftRefuses(t *testing.T, ctx context.Context, cert tls.Certificate, roots *x509.CertPool, addr string) bool {
	t.Helper()
	d := &tls.Dialer{Config: RaftClientTLS(cert, roots, nil)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return true
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
