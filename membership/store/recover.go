package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/membership/state"
)

// FilePeers is the manual recovery file in R/raft (hashicorp/raft's
// peers.json format: [{"id","address","non_voter"}]).
const FilePeers = "peers.json"

// RecoverPeers applies R/raft/peers.json, when present, with
// raft.RecoverCluster before Raft starts: the server's log and snapshot are
// kept and its configuration is replaced by the file's, so surviving
// servers can form a quorum again after the others are lost for good. The
// file is renamed to peers.json.applied afterwards. Every surviving server
// needs the same file before it starts.
func RecoverPeers(cfg Config, log *slog.Logger) error {
	path := filepath.Join(cfg.Dir, FilePeers)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	conf, err := raft.ReadConfigJSON(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", state.ErrBadConfig, path, err)
	}
	cfg = cfg.WithDefaults()
	hl := newHCLog(log.With("component", "registry"), "raft")
	st, err := openStores(cfg, hl)
	if err != nil {
		return err
	}
	rc := cfg.raftConfig()
	rc.Logger = hl
	err = raft.RecoverCluster(rc, newFSM(log), st.logs, st.bolt, st.snaps, cfg.Transport, conf)
	if cerr := st.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("membership: recovering from %s: %w", path, err)
	}
	log.Warn("raft configuration replaced from peers.json (manual recovery)", "servers", len(conf.Servers))
	return os.Rename(path, path+".applied")
}
