package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/state"
)

// Config configures one registry server. Zero fields take the defaults of
// WithDefaults; New validates.
type Config struct {
	// ID is the server's stable Raft ID, unique in the cluster
	// (letters, digits, . - _).
	ID string `json:"id"`
	// Dir holds the Raft log and stable store (raft.db, bbolt) and the
	// snapshots (snapshots/).
	Dir string `json:"dir"`

	// BindAddr is the TCP host:port the Raft transport listens on, and
	// AdvertiseAddr the address other servers dial (default: the bound
	// address, which then must not be unspecified like 0.0.0.0). Both are ignored when Transport
	// is set.
	BindAddr      string `json:"bind_addr,omitempty"`
	AdvertiseAddr string `json:"advertise_addr,omitempty"`
	// Transport, when set, is used instead of a TCP transport: an
	// InmemTransport in tests, or NewNetworkTransport over an mTLS
	// StreamLayer. The server closes it on Close.
	Transport raft.Transport `json:"-"`

	// Raft timing; see raft.Config. Defaults are raft's (1s, 1s, 500ms, 50ms).
	HeartbeatTimeout   time.Duration `json:"heartbeat_timeout,omitempty"`
	ElectionTimeout    time.Duration `json:"election_timeout,omitempty"`
	LeaderLeaseTimeout time.Duration `json:"leader_lease_timeout,omitempty"`
	CommitTimeout      time.Duration `json:"commit_timeout,omitempty"`

	// SnapshotThreshold is how many new log entries trigger a snapshot,
	// checked every SnapshotInterval; TrailingLogs entries stay in the log
	// after one (a follower further behind gets the snapshot);
	// SnapshotRetain snapshots are kept on disk.
	SnapshotThreshold uint64        `json:"snapshot_threshold,omitempty"`
	SnapshotInterval  time.Duration `json:"snapshot_interval,omitempty"`
	TrailingLogs      uint64        `json:"trailing_logs,omitempty"`
	SnapshotRetain    int           `json:"snapshot_retain,omitempty"`

	// ApplyTimeout bounds a write whose context has no deadline.
	ApplyTimeout time.Duration `json:"apply_timeout,omitempty"`
	// MaxCommandSize caps an encoded command (bytes).
	MaxCommandSize int `json:"max_command_size,omitempty"`

	// NoSync skips fsync on the Raft log. Only for tests and benchmarks:
	// an acknowledged write may be lost if the machine crashes.
	NoSync bool `json:"no_sync,omitempty"`
}

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	def := raft.DefaultConfig()
	setDur(&c.HeartbeatTimeout, def.HeartbeatTimeout)
	setDur(&c.ElectionTimeout, def.ElectionTimeout)
	setDur(&c.LeaderLeaseTimeout, def.LeaderLeaseTimeout)
	setDur(&c.CommitTimeout, def.CommitTimeout)
	setDur(&c.SnapshotInterval, def.SnapshotInterval)
	setDur(&c.ApplyTimeout, 10*time.Second)
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = def.SnapshotThreshold
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = def.TrailingLogs
	}
	if c.SnapshotRetain == 0 {
		c.SnapshotRetain = 3
	}
	if c.MaxCommandSize == 0 {
		c.MaxCommandSize = 1 << 20
	}
	return c
}

func setDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

// Validate reports the first problem with c (after WithDefaults).
func (c Config) Validate() error {
	if err := ident.CheckPart(c.ID); err != nil {
		return fmt.Errorf("%w: id: %v", state.ErrBadConfig, err)
	}
	if c.Dir == "" {
		return fmt.Errorf("%w: dir is required", state.ErrBadConfig)
	}
	if c.Transport == nil && c.BindAddr == "" {
		return fmt.Errorf("%w: set bind_addr (or a Transport)", state.ErrBadConfig)
	}
	if c.ApplyTimeout <= 0 || c.SnapshotRetain < 1 || c.MaxCommandSize < 4<<10 {
		return fmt.Errorf("%w: apply timeout, snapshot retain and max command size (≥4 KiB) must be positive", state.ErrBadConfig)
	}
	if err := raft.ValidateConfig(c.raftConfig()); err != nil {
		return fmt.Errorf("%w: %v", state.ErrBadConfig, err)
	}
	return nil
}

func (c Config) raftConfig() *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(c.ID)
	rc.HeartbeatTimeout = c.HeartbeatTimeout
	rc.ElectionTimeout = c.ElectionTimeout
	rc.LeaderLeaseTimeout = c.LeaderLeaseTimeout
	rc.CommitTimeout = c.CommitTimeout
	rc.SnapshotThreshold = c.SnapshotThreshold
	rc.SnapshotInterval = c.SnapshotInterval
	rc.TrailingLogs = c.TrailingLogs
	rc.NoLegacyTelemetry = true
	return rc
}

// Forwarder carries a leader-only operation from a follower to the leader:
// a write, which the leader applies with ApplyLocal, or a voter change,
// which it makes with ChangeVotersLocal. Server.onLeader is its only caller:
// leader routing lives in that one place, and clients never chase leaders.
// The HTTPS implementation is HTTPForwarder; tests use an in-process one.
type Forwarder interface {
	Forward(ctx context.Context, leaderID, leaderAddr string, cmd state.Command) (state.Result, error)
	ForwardVoterChange(ctx context.Context, leaderID, leaderAddr string, ch state.VoterChange) error
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger; the server adds component=registry.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithClock replaces time.Now for stamping commands.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRand replaces crypto/rand for request IDs.
func WithRand(r io.Reader) Option { return func(s *Server) { s.rnd = r } }

// WithForwarder lets followers forward leader-only operations to the leader.
func WithForwarder(f Forwarder) Option { return func(s *Server) { s.fwd = f } }

func defaultRand() io.Reader { return rand.Reader }
