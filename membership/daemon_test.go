package membership

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// TestFaultQuorumLossRecoveryPeersJSON follows docs/registry.md's recovery
// from quorum loss: a 2-server cluster loses one server for good, the
// survivor cannot commit, and after R/raft/peers.json names only it, it
// starts as a cluster of one with its state kept and commits again.
func TestFaultQuorumLossRecoveryPeersJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("a quorum-loss fault test: full suite only (-short skips it)")
	}
	ctx := storetest.Context(t, 90*time.Second)
	work := t.TempDir()
	dir1 := filepath.Join(work, "r1")
	r1, _ := initDaemon(t, dir1)
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
	waitUntil(t, ctx, "two voters", func() bool { return len(r2.Server().Status().Servers) == 2 })
	mint, err := r1.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := r1.file.raftAdvertise()
	r2.Close()
	r1.Close()
	os.RemoveAll(dir2) // lost for good

	// Alone in a 2-voter configuration: no quorum, no write.
	r1, err = Open(ctx, dir1, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	_, err = r1.CreateJoinToken(wctx, "admin", time.Hour)
	cancel()
	if err == nil {
		t.Fatal("a write committed without a quorum")
	}
	r1.Close()

	peers := fmt.Sprintf(`[{"id": "reg-1", "address": %q, "non_voter": false}]`, raftAddr)
	if err := os.WriteFile(filepath.Join(dir1, DirRaft, store.FilePeers), []byte(peers), 0o600); err != nil {
		t.Fatal(err)
	}
	r1, err = Open(ctx, dir1, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r1.Close() })
	if _, err := os.Stat(filepath.Join(dir1, DirRaft, store.FilePeers)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("peers.json left in place: %v", err)
	}
	if _, err := r1.Server().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := r1.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	if after.Index <= mint.Index {
		t.Fatalf("index %d after recovery, %d before", after.Index, mint.Index)
	}
	st := r1.Server().Status()
	if len(st.Servers) != 1 || st.LeaderID != "reg-1" {
		t.Fatalf("status after recovery %+v", st)
	}
	if n := len(r1.Server().State().JoinTokens); n != 3 {
		t.Fatalf("%d join tokens after recovery, want 3 (state kept)", n)
	}
	// The lost server's record is still in the state until it is removed.
	if _, ok := r1.Server().State().RegistryServers["reg-2"]; !ok {
		t.Fatal("reg-2's record vanished")
	}
	if _, err := r1.RemoveServer(ctx, "admin", "reg-2"); err != nil {
		t.Fatalf("remove the lost server: %v", err)
	}
	if _, ok := r1.Server().State().RegistryServers["reg-2"]; ok {
		t.Fatal("reg-2's record kept after remove")
	}
}

// TestInitImportCAWithTSA: init from an existing CA directory with a TSA;
// the registry lists the TSA and the imported chain, and a second init of
// the same directory is refused.
func TestInitImportCAWithTSA(t *testing.T) {
	ctx := storetest.Context(t, 60*time.Second)
	work := t.TempDir()
	src, err := ca.Init(filepath.Join(work, "ca"), ca.Config{Instance: regtest.Instance, Operator: "GOV/OPERATOR"}, []byte(daemonPass), ca.WithLogger(regtest.Logger()))
	if err != nil {
		t.Fatal(err)
	}
	rootFP := ca.Fingerprint(src.Root())
	src.Close()
	api := freePort(t)
	dir := filepath.Join(work, "r1")
	in := InitOptions{Instance: regtest.Instance, ServerAddrs: ServerAddrs{ID: "reg-1", RaftAddr: freePort(t), APIAddr: api, APIURL: "https://" + api,
		DNSNames: []string{"localhost"}}, ImportCA: filepath.Join(work, "ca"), TSA: true, TSAURL: "http://127.0.0.1:8080/"}
	res, err := InitFirst(ctx, dir, in, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	if res.RootSHA256 != rootFP || !res.TSA {
		t.Fatalf("init result %+v, imported root %s", res, rootFP)
	}
	if _, err := os.Stat(filepath.Join(dir, DirTSA, "tsa.key")); err != nil {
		t.Fatal(err)
	}
	if _, err := InitFirst(ctx, dir, in, []byte(daemonPass), daemonOpts()...); !errors.Is(err, state.ErrBootstrapped) {
		t.Fatalf("second init: %v", err)
	}
	r, err := Open(ctx, dir, []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Server().WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	// A restarted leader replays its log after it is elected: read after
	// the barrier, not before.
	if err := r.Server().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	st := r.Server().State()
	if len(st.TSAs) != 1 || st.TSAs[0].URL != in.TSAURL || len(st.CAChain) != 2 || len(st.Operators) != 1 {
		t.Fatalf("state: %d TSAs, chain %d, %d operators", len(st.TSAs), len(st.CAChain), len(st.Operators))
	}
	if got := r.tlsCert.Leaf.DNSNames; len(got) != 1 || got[0] != "localhost" {
		t.Fatalf("server certificate DNS names %v", got)
	}
}
