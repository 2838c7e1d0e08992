package membership

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

// PublisherConfig configures a Publisher.
type PublisherConfig struct {
	// Key and Chain sign the configuration: the registry-config key, its
	// certificate first, then the intermediates up to (not necessarily
	// including) the root (globalconf.Sign).
	Key   crypto.Signer
	Chain []*x509.Certificate
	// Debounce coalesces bursts of changes (default 100 ms).
	Debounce time.Duration
	// Clock replaces time.Now for issued_at.
	Clock func() time.Time
	// MaxWaiters bounds the long-polls the handler holds at once
	// (default globalconf.DefaultMaxWaiters).
	MaxWaiters int
	// StaggerFirst and StaggerSpread spread the answers to held long-polls
	// when a new copy is signed (globalconf.WithStagger): the first
	// StaggerFirst at once (default 8), the others within StaggerSpread
	// (default 2s; negative: all at once), so nodes that get the copy from
	// their peers first never download it from the registry.
	StaggerFirst  int
	StaggerSpread time.Duration
}

// Publisher keeps a signed copy of the global configuration built from the
// server's state. It re-signs after every change of the state version
// (debounced) and whenever its copy is older than a quarter of the policy's
// config validity, and serves the copy it holds (it never signs per
// request). Every server runs one; they build the same content for one
// version (the registry server list comes from the replicated state) and
// differ only in issued_at, expires_at and the signature.
type Publisher struct {
	srv *store.Server
	cfg PublisherConfig
	log *slog.Logger

	cur      atomic.Pointer[published]
	lastErr  atomic.Pointer[error]
	changed  globalconf.Notifier // wakes held long-polls when cur changes
	released atomic.Bool         // hold no more long-polls (shutting down)
	handler  http.Handler

	stop, done chan struct{}
	closeOnce  sync.Once
}

type published struct {
	raw      []byte
	version  uint64
	issuedAt time.Time
}

// publishRetry is the wait after a failed signing.
const publishRetry = 5 * time.Second

// NewPublisher starts publishing srv's configuration. Close stops it.
func NewPublisher(srv *store.Server, cfg PublisherConfig) (*Publisher, error) {
	if cfg.Key == nil || len(cfg.Chain) == 0 {
		return nil, fmt.Errorf("%w: publisher needs the registry-config key and certificate", state.ErrBadConfig)
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 100 * time.Millisecond
	}
	if cfg.Clock == nil {
		cfg.Clock = srv.Now
	}
	if cfg.StaggerFirst <= 0 {
		cfg.StaggerFirst = 8
	}
	if cfg.StaggerSpread == 0 {
		cfg.StaggerSpread = 2 * time.Second
	}
	p := &Publisher{srv: srv, cfg: cfg, log: srv.Logger().With("observer", "publisher"),
		stop: make(chan struct{}), done: make(chan struct{})}
	p.handler = globalconf.Handler(p.Signed, globalconf.WithChanges(p.changes), globalconf.WithMaxWaiters(cfg.MaxWaiters),
		globalconf.WithStagger(cfg.StaggerFirst, cfg.StaggerSpread))
	go func() {
		defer close(p.done)
		srv.Watch(cfg.Debounce, p.stop, p.publish)
	}()
	return p, nil
}

// changes is the handler's wake-up channel; nil once released.
func (p *Publisher) changes() <-chan struct{} {
	if p.released.Load() {
		return nil
	}
	return p.changed.Changed()
}

// Release answers every held long-poll now (304) and holds no more, so an
// HTTP server shutting down is not kept waiting by them.
func (p *Publisher) Release() {
	p.released.Store(true)
	p.changed.Notify()
}

// Close stops publishing; the held copy stays available.
func (p *Publisher) Close() {
	p.closeOnce.Do(func() { close(p.stop) })
	<-p.done
}

// Signed returns the held signed configuration (the wire form) and its
// version; globalconf.ErrUnavailable before the first one is signed.
func (p *Publisher) Signed() ([]byte, uint64, error) {
	if c := p.cur.Load(); c != nil {
		return c.raw, c.version, nil
	}
	if e := p.lastErr.Load(); e != nil {
		return nil, 0, fmt.Errorf("%w: %v", globalconf.ErrUnavailable, *e)
	}
	return nil, 0, globalconf.ErrUnavailable
}

// Version returns the version of the held copy (0 for none).
func (p *Publisher) Version() uint64 {
	if c := p.cur.Load(); c != nil {
		return c.version
	}
	return 0
}

// Handler serves the held copy at globalconf.GlobalConfigPath, holding
// long-polls (?wait=) until the next copy is signed.
func (p *Publisher) Handler() http.Handler { return p.handler }

// publish re-signs when needed and returns when to look again.
func (p *Publisher) publish() time.Duration {
	now := p.cfg.Clock()
	var (
		version  uint64
		validity time.Duration
		inited   bool
	)
	p.srv.Read(func(st *state.State) {
		version, inited, validity = st.Version, st.Instance != "", time.Duration(st.Policy.ConfigValidity)
	})
	if !inited || version == 0 {
		return time.Hour // the next change wakes us
	}
	refresh := validity / 4
	if c := p.cur.Load(); c != nil && c.version == version && now.Sub(c.issuedAt) < refresh {
		return c.issuedAt.Add(refresh).Sub(now)
	}
	st := p.srv.State()
	doc := st.GlobalConfig(now, st.RegistryServerList())
	signed, err := globalconf.Sign(doc, p.cfg.Key, p.cfg.Chain)
	var raw []byte
	if err == nil {
		raw, err = signed.Marshal()
	}
	if err != nil {
		p.lastErr.Store(&err)
		p.log.Error("signing the global configuration failed", "version", st.Version, "error", err)
		return publishRetry
	}
	p.cur.Store(&published{raw: raw, version: st.Version, issuedAt: now})
	p.lastErr.Store(nil)
	p.changed.Notify()
	p.log.Debug("global configuration signed", "version", st.Version, "bytes", len(raw))
	return refresh
}
