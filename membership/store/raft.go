package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/dxl-network/dxl/membership/state"
)

// Files in a server directory.
const (
	FileRaftDB   = "raft.db"   // bbolt: Raft log and stable store
	DirSnapshots = "snapshots" // raft.FileSnapshotStore
	logCacheSize = 512
)

// stores are the on-disk parts of a server.
type stores struct {
	bolt  *raftboltdb.BoltStore // log + stable store
	logs  raft.LogStore         // bolt behind a cache of recent entries
	snaps *raft.FileSnapshotStore
}

func openStores(cfg Config, hlog *hclogAdapter) (*stores, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("membership: %w", err)
	}
	path := filepath.Join(cfg.Dir, FileRaftDB)
	bs, err := raftboltdb.New(raftboltdb.Options{
		Path:        path,
		BoltOptions: &bolt.Options{Timeout: time.Second, NoFreelistSync: true},
		NoSync:      cfg.NoSync,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked by another process", state.ErrBadConfig, path)
	}
	if err != nil {
		return nil, fmt.Errorf("membership: open %s: %w", path, err)
	}
	cache, err := raft.NewLogCache(logCacheSize, bs)
	if err != nil {
		bs.Close()
		return nil, fmt.Errorf("membership: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, cfg.SnapshotRetain, hlog.Named("snapshots"))
	if err != nil {
		bs.Close()
		return nil, fmt.Errorf("membership: snapshot store: %w", err)
	}
	return &stores{bolt: bs, logs: cache, snaps: snaps}, nil
}

func (s *stores) close() error { return s.bolt.Close() }

// DialFunc dials a Raft peer. net.Dialer.DialContext fits, and so does
// tls.Dialer.DialContext: this is the seam for mutual TLS between servers.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// StreamLayer is a raft.StreamLayer over any listener and dialer. With a
// net.Listener and net.Dialer it is plain TCP (NewTCPStreamLayer); wrap the
// listener with tls.NewListener and pass a tls.Dialer to get mTLS, with both
// sides requiring a registry-server certificate from the DXL CA.
type StreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	dial      DialFunc
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewStreamLayer returns a stream layer accepting on ln and dialling with
// dial. advertise is the address peers dial; nil means ln.Addr().
func NewStreamLayer(ln net.Listener, advertise net.Addr, dial DialFunc) *StreamLayer {
	return &StreamLayer{ln: ln, advertise: advertise, dial: dial}
}

// NewTCPStreamLayer listens on bind (host:port) in plain TCP. advertise
// ("" = the bound address) must be dialable by the other servers.
func NewTCPStreamLayer(bind, advertise string) (*StreamLayer, error) {
	var adv net.Addr
	if advertise != "" {
		a, err := net.ResolveTCPAddr("tcp", advertise)
		if err != nil {
			return nil, fmt.Errorf("%w: advertise address %q: %v", state.ErrBadConfig, advertise, err)
		}
		if a.IP == nil || a.IP.IsUnspecified() || a.Port == 0 {
			return nil, fmt.Errorf("%w: advertise address %q is not dialable", state.ErrBadConfig, advertise)
		}
		adv = a
	}
	ln, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("membership: raft listener: %w", err)
	}
	if adv == nil {
		if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
			ln.Close()
			return nil, fmt.Errorf("%w: bind address %q is unspecified; set an advertise address", state.ErrBadConfig, bind)
		}
	}
	var d net.Dialer
	return NewStreamLayer(ln, adv, d.DialContext), nil
}

// Accept implements net.Listener.
func (l *StreamLayer) Accept() (net.Conn, error) { return l.ln.Accept() }

// Close implements net.Listener.
func (l *StreamLayer) Close() error { return l.ln.Close() }

// Addr implements net.Listener: the advertised address.
func (l *StreamLayer) Addr() net.Addr {
	if l.advertise != nil {
		return l.advertise
	}
	return l.ln.Addr()
}

// Dial implements raft.StreamLayer.
func (l *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.dial(ctx, "tcp", string(address))
}

// NewNetworkTransport returns a Raft transport over layer, logging into log.
func NewNetworkTransport(layer raft.StreamLayer, log *slog.Logger) *raft.NetworkTransport {
	if log == nil {
		log = slog.Default()
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  layer,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  newHCLog(log.With("component", "registry"), "raft-net"),
	})
}

// NewTCPTransport is NewNetworkTransport over NewTCPStreamLayer.
func NewTCPTransport(bind, advertise string, log *slog.Logger) (*raft.NetworkTransport, error) {
	layer, err := NewTCPStreamLayer(bind, advertise)
	if err != nil {
		return nil, err
	}
	return NewNetworkTransport(layer, log), nil
}
