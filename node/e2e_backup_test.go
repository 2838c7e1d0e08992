package node_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node"
)

// TestBackupRestoreDrill: a backup taken while the node serves, restored
// onto a new directory, starts the same node (peer ID) that continues its
// message log's hash chain, still has the evidence of calls before the
// backup, and serves calls. A damaged or cut archive is refused and leaves
// nothing behind.
func TestBackupRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own network and replaces a node")
	}
	n := startNet(t, nil)
	c := n.client(t, true)
	var before []string
	for range 5 {
		before = append(before, do(t, c, "GET", n.url("/bench"), "", nil).header.Get(node.HeaderRequestID))
	}
	var archive bytes.Buffer
	m, err := n.A.Node.Backup(n.ctx, &archive)
	if err != nil {
		t.Fatal(err)
	}
	info, err := node.BackupInfoOf(m)
	if err != nil || info.MessageLogSeq < 5 || info.PeerID != n.A.Node.PeerID().String() {
		t.Fatalf("manifest %+v: %v", m, err)
	}
	do(t, c, "GET", n.url("/bench"), "", nil) // after the backup: not in it

	for _, bad := range []struct {
		name string
		raw  []byte
	}{{"cut short", archive.Bytes()[:archive.Len()/2]}, {"one byte changed", flipByte(archive.Bytes(), 4096)}} {
		dir := filepath.Join(t.TempDir(), "restored")
		if _, _, err := node.Restore(bytes.NewReader(bad.raw), dir); !errors.Is(err, node.ErrBackup) {
			t.Errorf("%s archive: %v, want ErrBackup", bad.name, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s archive left %s behind: %v", bad.name, dir, err)
		}
	}

	n.A.Stop() // the machine is lost
	start := time.Now()
	dir := filepath.Join(t.TempDir(), "new-machine")
	if _, _, err := node.Restore(bytes.NewReader(archive.Bytes()), dir); err != nil {
		t.Fatal(err)
	}
	n.A.Dir = dir
	if err := n.A.Restart(n.ctx); err != nil {
		t.Fatal(err)
	}
	c = n.client(t, true) // the restarted API listens on a new port
	after := do(t, c, "GET", n.url("/bench"), "", nil)
	t.Logf("restore and start to the first call answered: %s (%d files, message log through %d)", time.Since(start).Round(time.Millisecond), len(m.Files), info.MessageLogSeq)
	if after.status != http.StatusOK || n.A.Node.PeerID().String() != info.PeerID {
		t.Fatalf("restored node: %d, peer %s", after.status, n.A.Node.PeerID())
	}
	log := committedLog(t, n.A.Node)
	if k, err := log.VerifyChain(); err != nil || uint64(k) != info.MessageLogSeq+1 {
		t.Fatalf("restored chain: %d records, %v; want the backup's %d and the new call", k, err, info.MessageLogSeq)
	}
	if _, err := n.A.Node.Evidence(n.ctx, before[0]); err != nil {
		t.Fatalf("evidence of a call before the backup: %v", err)
	}
}

func flipByte(b []byte, at int) []byte {
	c := bytes.Clone(b)
	c[at] ^= 0xff
	return c
}
