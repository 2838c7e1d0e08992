package api

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/archive"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/state"
)

// Store is what the API needs of the registry's Raft server; *store.Server
// implements it.
type Store interface {
	Apply(ctx context.Context, cmd state.Command) (state.Result, error)
	ApplyLocal(ctx context.Context, cmd state.Command) (state.Result, error)
	AddVoter(ctx context.Context, id, addr string) error
	ChangeVotersLocal(ctx context.Context, ch state.VoterChange) error
	Read(fn func(st *state.State))
	WaitApplied(ctx context.Context, index uint64) error
	WaitCommitted(ctx context.Context) error
	Changed() <-chan struct{}
	Request(id string) (state.Request, error)
	Member(id string) (state.Member, error)
	Status() state.ClusterStatus
	Closed() bool
	MaxCommandSize() int
	NewOperatorToken() (token, hash string, err error)
	Logger() *slog.Logger
}

// Daemon is what the join workflow's and the backup's endpoints need of
// the registry daemon, which holds the CA and the keys;
// *membership.Registry implements it. Without one (Config.Daemon nil)
// those endpoints are not served.
type Daemon interface {
	CreateJoinToken(ctx context.Context, actor string, ttl time.Duration) (client.MintJoinTokenResponse, error)
	Admit(ctx context.Context, b *client.JoinRequest, csr *x509.CertificateRequest, ips []net.IP) (*client.JoinResponse, error)
	RemoveServer(ctx context.Context, actor, id string) (client.RemoveServerResponse, error)
	Backup(ctx context.Context, w io.Writer) (*archive.Manifest, error)
}

// Issuer is what the API needs of the server's copy of the network CA;
// *ca.CA implements it.
type Issuer interface {
	Issue(ctx context.Context, req ca.IssueRequest) (*ca.Issued, error)
	Revoke(ctx context.Context, serial string, reason ca.Reason) (*ca.Record, error)
}

// ConfigPublisher serves the signed global configuration;
// *membership.Publisher implements it.
type ConfigPublisher interface {
	Handler() http.Handler
	Version() uint64
}
