package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/services"
)

// Views gives the current signed configuration (confview.ErrNoConfig
// when the node may not use any).
type Views interface {
	Current() (*confview.View, error)
}

// Signer signs documents and receipts with the member's key
// (*envelope.Signer).
type Signer interface {
	SignDetached(prefix string, data []byte) (sig, certDER []byte, err error)
}

// Dialer opens streams to other nodes (transport.Host).
type Dialer interface {
	NewStream(ctx context.Context, p peer.ID, proto protocol.ID, service string) (network.Stream, error)
}

// Authenticator identifies the information system of an API request
// (the consumer API's client certificate or bearer token).
type Authenticator interface {
	Authenticate(r *http.Request) (services.SubsystemID, error)
}

// Defaults of Config.
const (
	DefaultMaxSize       = 4 << 30
	DefaultWorkers       = 32
	DefaultMinBackoff    = time.Second
	DefaultMaxBackoff    = 5 * time.Minute
	DefaultUndeliverable = 72 * time.Hour
	DefaultIdle          = time.Minute
)

// Config is what a Service is built from.
type Config struct {
	Member ident.Member // the node's member
	Self   string       // the node's peer ID
	Store  *Store

	Views  Views
	Signer Signer
	Dialer Dialer
	Auth   Authenticator

	MaxSize int64  // largest content accepted (default 4 GiB)
	Workers int    // deliveries pushed at once, and receipts (default 32)
	Policy  Policy // retries (defaults: 1 s doubling to 5 min; undeliverable after 72 h)
	// Idle bounds the wait for any frame of a transfer (default 1 min).
	Idle time.Duration

	// SendFault, for tests, runs before each chunk frame the sender
	// writes (chunk: its index in the content, ChunkSize bytes each); an
	// error breaks the transfer there as a lost connection would.
	SendFault func(doc string, chunk int) error
	// Fault, for tests, is called at the crash points of fault.go; an
	// error breaks the operation there.
	Fault func(point string) error
	// ExpireEvery is how often the inbox is swept for documents past
	// their expiry and abandoned transfers (expire.go; default 1 min).
	ExpireEvery time.Duration

	// Webhooks are the URLs that information systems (subsystem ID) have
	// their events POSTed to, signed (webhook.go).
	Webhooks map[string]string

	// Metrics, if set, count deliveries (NewMetrics).
	Metrics *Metrics
	// Recorder, if set, keeps every delivery event in the node's logs
	// (record.go).
	Recorder Recorder

	Now    func() time.Time
	Logger *slog.Logger
}

// Validate fills in the defaults and checks cfg.
func (c *Config) Validate() error {
	if c.Store == nil || c.Views == nil || c.Signer == nil || c.Dialer == nil || c.Auth == nil {
		return fmt.Errorf("%w: delivery needs a store, views, a signer, a dialer and an authenticator", ErrStorage)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	def(&c.Policy.MinBackoff, DefaultMinBackoff)
	def(&c.Policy.MaxBackoff, DefaultMaxBackoff)
	def(&c.Policy.Undeliverable, DefaultUndeliverable)
	def(&c.Idle, DefaultIdle)
	def(&c.ExpireEvery, time.Minute)
	if c.Policy.MaxBackoff < c.Policy.MinBackoff {
		return fmt.Errorf("%w: max backoff %s under min backoff %s", ErrBadMeta, c.Policy.MaxBackoff, c.Policy.MinBackoff)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Logger = c.Logger.With("component", "delivery")
	return nil
}

// Service is a node's delivery: the outbox loop, the protocol handler
// and the information systems' endpoints.
type Service struct {
	cfg     Config
	store   *Store
	log     *slog.Logger
	events  *broker
	metrics *Metrics // nil: none
	wake    chan struct{}
	hooks   chan hookCall

	mu       sync.Mutex
	inflight map[string]bool // doc NUL recipient: being pushed by this node
	busy     map[string]bool // inbox key: being received
}

// New returns the Service of cfg.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: cfg.Store, log: cfg.Logger, events: newBroker(), metrics: cfg.Metrics,
		wake: make(chan struct{}, 1), hooks: make(chan hookCall, webhookQueue), inflight: map[string]bool{}, busy: map[string]bool{}}
	if s.metrics != nil {
		s.metrics.svc.Store(s)
	}
	return s, nil
}

// Store is the service's store.
func (s *Service) Store() *Store { return s.store }

// Wake makes the loop look for work now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run pushes due deliveries and pending receipts until ctx ends, then
// waits for the transfers it started.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.runWebhooks(ctx) })
	wg.Go(func() { s.runExpiry(ctx) })
	sem := make(chan struct{}, s.cfg.Workers)
	rsem := make(chan struct{}, s.cfg.Workers) // receipts
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		s.round(ctx, &wg, sem, rsem)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// round ends expired or too long unreachable deliveries, starts the due
// ones in priority order while workers are free, and sends receipts.
func (s *Service) round(ctx context.Context, wg *sync.WaitGroup, sem, rsem chan struct{}) {
	now := s.cfg.Now()
	docs, err := s.store.Queued()
	if err != nil {
		s.log.Error("outbox not readable", "error", err)
		return
	}
	var ready []due
	for _, d := range docs {
		if len(s.cfg.Policy.sweep(d, now)) > 0 {
			s.swept(d.Meta.ID, now)
			continue
		}
		ready = append(ready, dueOf(d, now)...)
	}
	slices.SortStableFunc(ready, cmpDue)
	for _, d := range ready {
		if !s.claim(d) {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			s.release(d)
			s.sendReceipts(ctx, wg, rsem, now)
			return // every worker busy: the rest waits for the next round
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; s.release(d); wg.Done(); s.Wake() }()
			s.deliver(ctx, d)
		}()
	}
	s.sendReceipts(ctx, wg, rsem, now)
}

// swept stores the ends sweep decided and tells the sender.
func (s *Service) swept(id string, now time.Time) {
	var ended []*Recipient
	d, err := s.store.UpdateOut(id, func(d *OutDoc) error {
		ended = s.cfg.Policy.sweep(d, now)
		d.Updated = now
		return nil
	})
	if err != nil {
		s.log.Error("outbox update failed", "document_id", id, "error", err)
		return
	}
	for _, r := range ended {
		s.log.Info("delivery ended", "document_id", id, "recipient", r.ID, "state", string(r.State), "reason", r.Reason)
		s.metrics.count("sender", string(r.State), 1)
		s.publish(d.Meta.Sender, Event{Type: string(r.State), ID: id, Recipient: r.ID, Reason: r.Reason})
		s.logEnded(d, r)
	}
}

func (s *Service) claim(d due) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := d.doc + "\x00" + d.recipient
	if s.inflight[k] {
		return false
	}
	s.inflight[k] = true
	return true
}

func (s *Service) release(d due) {
	s.mu.Lock()
	delete(s.inflight, d.doc+"\x00"+d.recipient)
	s.mu.Unlock()
}

// Handler serves the information systems' delivery endpoints (api.go).
func (s *Service) Handler() http.Handler { return s.handler() }
