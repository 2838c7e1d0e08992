package membership

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/archive"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// TestBackupRestoreDrill: a two-server cluster is backed up while it
// serves and then lost whole; the backup restored onto a new directory
// starts as a one-server cluster with the state of the backup (nothing
// committed after it), commits again, and a new server joins it. A cut
// archive is refused and leaves nothing.
func TestBackupRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("a disaster-recovery drill: full suite only (-short skips it)")
	}
	ctx := storetest.Context(t, 2*time.Minute)
	work := t.TempDir()
	r1, _ := initDaemon(t, filepath.Join(work, "r1"))
	tok, err := r1.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	api := freePort(t)
	if _, err := JoinCluster(ctx, filepath.Join(work, "r2"), JoinOptions{Token: tok.Token, ServerAddrs: ServerAddrs{ID: "reg-2", RaftAddr: freePort(t),
		APIAddr: api, APIURL: "https://" + api, IPs: []net.IP{net.ParseIP("127.0.0.1")}}}, []byte(daemonPass)); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, filepath.Join(work, "r2"), []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "two voters", func() bool { return len(r2.Server().Status().Servers) == 2 })

	var buf bytes.Buffer
	m, err := r1.Backup(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	tokens := len(r1.Server().State().JoinTokens)
	if _, err := r1.CreateJoinToken(ctx, "admin", time.Hour); err != nil { // after the backup: lost with the cluster
		t.Fatal(err)
	}
	r2.Close()
	r1.Close()
	os.RemoveAll(filepath.Join(work, "r1")) // both machines lost
	os.RemoveAll(filepath.Join(work, "r2"))

	bad := filepath.Join(work, "bad")
	if _, _, err := RestoreRegistry(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), bad); !errors.Is(err, archive.ErrBad) {
		t.Fatalf("cut archive: %v", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cut archive left %s: %v", bad, err)
	}

	start := time.Now()
	dir := filepath.Join(work, "rebuilt")
	_, info, err := RestoreRegistry(bytes.NewReader(buf.Bytes()), dir)
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
	t.Logf("restored and leading in %s (%d files, Raft index %d)", time.Since(start).Round(time.Millisecond), len(m.Files), info.RaftIndex)
	if n := len(r.Server().State().JoinTokens); n != tokens {
		t.Fatalf("%d join tokens after the restore, want the backup's %d", n, tokens)
	}
	if st := r.Server().Status(); len(st.Servers) != 1 || st.LeaderID != info.ID {
		t.Fatalf("rebuilt cluster %+v, want %s alone", st, info.ID)
	}
	if _, err := os.Stat(filepath.Join(dir, DirRaft, store.FilePeers)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("peers.json not applied: %v", err)
	}
	join, err := r.CreateJoinToken(ctx, "admin", time.Hour)
	if err != nil {
		t.Fatalf("write after the restore: %v", err)
	}
	api = freePort(t)
	if _, err := JoinCluster(ctx, filepath.Join(work, "r3"), JoinOptions{Token: join.Token, ServerAddrs: ServerAddrs{ID: "reg-3", RaftAddr: freePort(t),
		APIAddr: api, APIURL: "https://" + api, IPs: []net.IP{net.ParseIP("127.0.0.1")}}}, []byte(daemonPass)); err != nil {
		t.Fatalf("a new server joining the rebuilt cluster: %v", err)
	}
	r3, err := Open(ctx, filepath.Join(work, "r3"), []byte(daemonPass), daemonOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r3.Close() })
	waitUntil(t, ctx, "the new server a voter", func() bool { return len(r.Server().Status().Servers) == 2 })
}
