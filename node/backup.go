package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	bolt "go.etcd.io/bbolt"

	"github.com/dxl-network/dxl/internal/archive"
)

// BackupFormat names a node backup (internal/archive): every file of the
// node directory, keys as they are on disk (sealed with the passphrase),
// a consistent snapshot of each database taken while the node serves,
// and the manifest.
const BackupFormat = "dxl-node-backup-v1"

// ErrBackup is a backup archive Restore refuses.
var ErrBackup = archive.ErrBad

// BackupInfo is what a node backup's manifest says of the node.
type BackupInfo struct {
	Member        string `json:"member"`
	PeerID        string `json:"peer_id"`
	MessageLogSeq uint64 `json:"message_log_seq"` // the last message-log record it holds
}

// BackupInfoOf reads m's BackupInfo.
func BackupInfoOf(m *archive.Manifest) (BackupInfo, error) {
	var bi BackupInfo
	if err := json.Unmarshal(m.Meta, &bi); err != nil {
		return bi, fmt.Errorf("%w: manifest meta: %v", ErrBackup, err)
	}
	return bi, nil
}

// backupSkip are what a backup leaves out: the databases (snapshotted
// instead), the journal (the snapshots hold what it held), the spool of
// calls in flight and the admin socket.
var backupSkip = []string{FileDB, FileMessageLog, FileRecords, FileDeliveryDB, DirJournal, "spool", FileAdminSocket}

// Backup writes a backup of the running node to w: it commits the logs,
// then copies the files of its directory and a snapshot of each database.
// Calls go on meanwhile; those answered after the snapshots started are
// not in it.
func (n *Node) Backup(ctx context.Context, w io.Writer) (*archive.Manifest, error) {
	if err := errors.Join(n.msglog.Flush(ctx), n.records.Flush(ctx)); err != nil {
		return nil, fmt.Errorf("backup: committing the logs: %w", err)
	}
	a := archive.NewWriter(w, BackupFormat, n.now())
	if err := a.AddTree(n.dir, backupSkip); err != nil {
		return nil, err
	}
	if err := n.db.View(func(tx *bolt.Tx) error {
		return a.Add(FileDB, tx.Size(), func(w io.Writer) error { _, err := tx.WriteTo(w); return err })
	}); err != nil {
		return nil, err
	}
	info := BackupInfo{Member: n.member.String(), PeerID: n.self, MessageLogSeq: n.msglog.Stats().LastSeq}
	type snapshot struct {
		name string
		snap func(func(int64) (io.Writer, error)) error
	}
	snaps := []snapshot{{FileMessageLog, n.msglog.Snapshot}, {FileRecords, n.records.Snapshot}}
	if n.deliv != nil {
		snaps = append(snaps, snapshot{FileDeliveryDB, n.deliv.Store().Snapshot})
	}
	for _, s := range snaps {
		err := s.snap(func(size int64) (io.Writer, error) { return a.Open(s.name, size) })
		if err == nil {
			err = a.CloseEntry()
		}
		if err != nil {
			return nil, fmt.Errorf("backup: %s: %w", s.name, err)
		}
	}
	return a.Finish(info)
}

// Restore unpacks a node backup into dir, which must not exist or be
// empty, checking every file against the manifest; nothing is half
// restored. Start the node on dir afterwards (dxl node serve): it
// continues the message log's hash chain.
func Restore(r io.Reader, dir string) (*archive.Manifest, BackupInfo, error) {
	m, err := archive.Extract(r, dir, BackupFormat)
	if err != nil {
		return nil, BackupInfo{}, err
	}
	bi, err := BackupInfoOf(m)
	return m, bi, err
}

// adminBackup streams a backup (tar) of the running node (audited).
func (n *Node) adminBackup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-tar")
	m, err := n.Backup(r.Context(), w)
	if err != nil {
		n.log.Error("backup failed", "error", err)
		panic(http.ErrAbortHandler) // the client sees a cut archive, which Restore refuses
	}
	n.auditAction(r, "node.backup", n.self, fmt.Sprintf("%d files", len(m.Files)))
}
