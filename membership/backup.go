package membership

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/archive"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

// RegistryBackupFormat names a registry server backup (internal/archive):
// a Raft snapshot of the replicated state, taken at once, and the files
// of the server directory (registry.json, the sealed server, config-signing
// and CA keys, certificates) but the Raft directory, the CA's certificate
// database (CASync fills it again from the state) and the TSA directory
// (a TSA must never reuse a serial number: back it up on its own, stopped).
const RegistryBackupFormat = "dxl-registry-backup-v1"

// Entries of a registry backup beside the server's files.
const (
	backupSnapshotMeta = "raft-snapshot.json"
	backupSnapshotData = "raft-snapshot.bin"
)

var registryBackupSkip = []string{DirRaft, DirCA + "/" + ca.FileDB, DirTSA}

// RegistryBackupInfo is what a registry backup's manifest says.
type RegistryBackupInfo struct {
	ID            string `json:"id"`
	Instance      string `json:"instance"`
	RaftIndex     uint64 `json:"raft_index"`
	ConfigVersion uint64 `json:"config_version"` // of the state in the snapshot
}

// Backup writes a backup of this server to w: a Raft snapshot taken now
// and the server's files. Writes go on meanwhile; those committed after the
// snapshot are not in it.
func (r *Registry) Backup(ctx context.Context, w io.Writer) (*archive.Manifest, error) {
	a := archive.NewWriter(w, RegistryBackupFormat, time.Now())
	if err := a.AddTree(r.dir, registryBackupSkip); err != nil {
		return nil, err
	}
	info := RegistryBackupInfo{ID: r.file.ID, Instance: r.file.Instance, ConfigVersion: r.srv.Version()}
	meta, err := r.srv.SnapshotTo(ctx, func(m *raft.SnapshotMeta) (io.Writer, error) {
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		if err := a.Add(backupSnapshotMeta, int64(len(raw)), func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
			return nil, err
		}
		return a.Open(backupSnapshotData, m.Size)
	})
	if err == nil {
		err = a.CloseEntry()
	}
	if err != nil {
		return nil, fmt.Errorf("registry backup: %w", err)
	}
	info.RaftIndex = meta.Index
	return a.Finish(info)
}

// RestoreRegistry unpacks a registry server backup into dir, which must
// not exist or be empty, installs its snapshot as the server's only Raft
// state and writes a peers.json naming this server alone: started (dxl
// registry serve), it recovers as a one-server cluster holding the state
// of the backup, and other servers join it with join tokens. Nothing is
// half restored.
func RestoreRegistry(r io.Reader, dir string) (_ *archive.Manifest, _ RegistryBackupInfo, err error) {
	var info RegistryBackupInfo
	m, err := archive.Extract(r, dir, RegistryBackupFormat)
	if err != nil {
		return nil, info, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := json.Unmarshal(m.Meta, &info); err != nil {
		return nil, info, fmt.Errorf("%w: manifest meta: %v", archive.ErrBad, err)
	}
	f, err := ReadRegistryFile(dir)
	if err != nil {
		return nil, info, err
	}
	if err := installSnapshot(dir, f); err != nil {
		return nil, info, err
	}
	return m, info, nil
}

// installSnapshot moves the backup's snapshot into R/raft and writes
// R/raft/peers.json with this server alone.
func installSnapshot(dir string, f *RegistryFile) error {
	raw, err := os.ReadFile(filepath.Join(dir, backupSnapshotMeta))
	if err != nil {
		return fmt.Errorf("%w: %v", archive.ErrBad, err)
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(raw, &meta); err != nil {
		return fmt.Errorf("%w: snapshot metadata: %v", archive.ErrBad, err)
	}
	data, err := os.Open(filepath.Join(dir, backupSnapshotData))
	if err != nil {
		return fmt.Errorf("%w: %v", archive.ErrBad, err)
	}
	defer data.Close()
	raftDir := filepath.Join(dir, DirRaft)
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return err
	}
	if err := store.InstallSnapshot(raftDir, &meta, data); err != nil {
		return err
	}
	peers, err := json.Marshal([]map[string]any{{"id": f.ID, "address": f.raftAdvertise(), "non_voter": false}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(raftDir, store.FilePeers), peers, 0o600); err != nil {
		return fmt.Errorf("%w: %v", state.ErrBadConfig, err)
	}
	_ = os.Remove(filepath.Join(dir, backupSnapshotMeta))
	return os.Remove(filepath.Join(dir, backupSnapshotData))
}
