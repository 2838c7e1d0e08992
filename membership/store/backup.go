package store

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/state"
)

// SnapshotTo takes a Raft snapshot now (or, when nothing is new since the
// last one, uses that) and copies it to the writer open returns for its
// metadata: the state as of the snapshot's index, for a backup.
func (s *Server) SnapshotTo(ctx context.Context, open func(*raft.SnapshotMeta) (io.Writer, error)) (*raft.SnapshotMeta, error) {
	if s.closed.Load() {
		return nil, state.ErrShutdown
	}
	meta, rc, err := s.latestSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	w, err := open(meta)
	if err != nil {
		return nil, err
	}
	if n, err := io.Copy(w, rc); err != nil || n != meta.Size {
		return nil, fmt.Errorf("membership: copying snapshot %s: %d of %d bytes: %v", meta.ID, n, meta.Size, err)
	}
	return meta, nil
}

func (s *Server) latestSnapshot(ctx context.Context) (*raft.SnapshotMeta, io.ReadCloser, error) {
	f := s.raft.Snapshot()
	err := s.wait(ctx, f)
	if err == nil {
		return f.Open()
	}
	if !errors.Is(err, raft.ErrNothingNewToSnapshot) {
		return nil, nil, fmt.Errorf("membership: snapshot: %w", err)
	}
	list, err := s.stores.snaps.List()
	if err != nil || len(list) == 0 {
		return nil, nil, fmt.Errorf("membership: no snapshot to back up: %v", err)
	}
	return s.stores.snaps.Open(list[0].ID)
}

// InstallSnapshot writes a snapshot (from SnapshotTo) into the Raft
// directory dir of a server that has no Raft state yet. Started with a
// peers.json naming only itself (RecoverPeers), the server comes up alone
// from that state; the other servers join it again.
func InstallSnapshot(dir string, meta *raft.SnapshotMeta, data io.Reader) error {
	snaps, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		return fmt.Errorf("membership: snapshot store: %w", err)
	}
	// The store writes the configuration's legacy peer list with a
	// transport's address encoding; every transport encodes the address
	// itself, as the in-memory one does.
	_, enc := raft.NewInmemTransport("")
	defer enc.Close()
	sink, err := snaps.Create(meta.Version, meta.Index, meta.Term, meta.Configuration, meta.ConfigurationIndex, enc)
	if err != nil {
		return fmt.Errorf("membership: snapshot store: %w", err)
	}
	if n, err := io.Copy(sink, data); err != nil || n != meta.Size {
		_ = sink.Cancel()
		return fmt.Errorf("%w: snapshot of %d bytes, %d read: %v", state.ErrBadConfig, meta.Size, n, err)
	}
	return sink.Close()
}
