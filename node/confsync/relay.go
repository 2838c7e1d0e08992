package confsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/transport"
)

// TopicPrefix is the versioned topic name before the instance code.
const TopicPrefix = "/dxl/config/1.0.0/"

// Topic returns the relay topic of instance.
func Topic(instance string) string { return TopicPrefix + instance }

// Defaults.
const (
	// DefaultMaxMessage is the largest signed configuration relayed. A
	// larger one is refused by receivers and not published; nodes still
	// fetch it from the registry.
	DefaultMaxMessage = 4 << 20
	// DefaultPublishDelay bounds the random delay before a node publishes a
	// version it did not get from the topic.
	DefaultPublishDelay = 500 * time.Millisecond
	// DefaultResync is how often a node asks one random topic peer for a
	// newer copy, whatever pubsub carried: a publication that found no
	// mesh, or a message lost, is made up for within it.
	DefaultResync = 30 * time.Second
	// pubsubSlack is the room pubsub's RPC cap leaves over MaxMessage.
	pubsubSlack = 64 << 10
	// readyWait bounds the wait for a mesh peer before publishing; with
	// none by then, peers that join later catch up instead.
	readyWait = 10 * time.Second
)

// ErrConfig: a Config breaks a rule of Validate, or pubsub cannot start.
var ErrConfig = errors.New("confsync: invalid configuration")

// Conf is what the relay needs of the node's configuration client;
// *globalconf.Client implements it.
type Conf interface {
	Accept(raw []byte) (*globalconf.Document, error)
	Signed() []byte
	Current() (*globalconf.Document, time.Duration, error)
}

// Config configures New.
type Config struct {
	// Host is the node's libp2p host.
	Host *transport.Host
	// Instance names the topic.
	Instance string
	// Conf holds the node's configuration.
	Conf Conf
	// Admit reports whether a peer is a node of the current configuration:
	// only those take part in the topic (the host's gate admits no other
	// connection in any case).
	Admit func(peer.ID) bool
	// MaxMessage caps a relayed configuration (default DefaultMaxMessage).
	MaxMessage int
	// PublishDelay bounds the random delay before publishing (default
	// DefaultPublishDelay; negative: none).
	PublishDelay time.Duration
	// Resync is the interval of the catch-up from one random topic peer
	// (default DefaultResync; negative: only when peers join).
	Resync time.Duration
	// Logger defaults to slog.Default.
	Logger *slog.Logger
}

// Validate checks c and fills its defaults.
func (c *Config) Validate() error {
	if c.Host == nil || c.Conf == nil || c.Admit == nil || c.Instance == "" {
		return fmt.Errorf("%w: host, configuration client, gate and instance are required", ErrConfig)
	}
	if c.MaxMessage == 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.MaxMessage < 0 || c.MaxMessage > globalconf.MaxSignedSize {
		return fmt.Errorf("%w: max message must be 1..%d bytes", ErrConfig, globalconf.MaxSignedSize)
	}
	if c.PublishDelay == 0 {
		c.PublishDelay = DefaultPublishDelay
	}
	if c.Resync == 0 {
		c.Resync = DefaultResync
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Stats counts what the relay did, for tests and metrics. Published
// counts copies handed to pubsub (one the topic already carried is not
// sent again); Forwarded, Ignored and Rejected are validator results for
// peers' messages and catch-up answers; Pulled counts catch-up answers
// that carried a copy.
type Stats struct {
	Published, Forwarded, Ignored, Rejected, Pulled atomic.Int64
}

// Relay is one node's side of the relay.
type Relay struct {
	cfg   Config
	log   *slog.Logger
	ps    *pubsub.PubSub
	topic *pubsub.Topic
	sub   *pubsub.Subscription
	ev    *pubsub.TopicEventHandler
	stats Stats

	kick  chan struct{}
	pulls chan peer.ID

	mu    sync.Mutex
	known [sha256.Size]byte // the last copy seen on the topic or published

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New joins the topic, serves the catch-up protocol and starts relaying.
// Call Updated from the configuration client's OnUpdate; Close stops.
func New(cfg Config) (*Relay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Relay{cfg: cfg, log: cfg.Logger.With("component", "confsync"),
		kick: make(chan struct{}, 1), pulls: make(chan peer.ID, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if err := r.join(ctx); err != nil {
		cancel()
		return nil, err
	}
	cfg.Host.Handle(transport.ConfigProtocol, transport.ServiceConfig, r.serve)
	r.goRun(func() { r.drain(ctx) })
	r.goRun(func() { r.watchPeers(ctx) })
	r.goRun(func() { r.publishLoop(ctx) })
	r.goRun(func() { r.pullLoop(ctx) })
	r.Updated() // publish what is held, if the topic has not seen it
	return r, nil
}

func (r *Relay) join(ctx context.Context) (err error) {
	lib := r.cfg.Host.Lib()
	r.ps, err = pubsub.NewGossipSub(ctx, lib,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(messageID),
		pubsub.WithPeerFilter(func(p peer.ID, _ string) bool { return r.cfg.Admit(p) }),
		pubsub.WithMaxMessageSize(r.cfg.MaxMessage+pubsubSlack),
		pubsub.WithFloodPublish(false),
		pubsub.WithPeerExchange(false),
		pubsub.WithLogger(r.log.With("part", "pubsub")),
	)
	if err != nil {
		return fmt.Errorf("%w: pubsub: %v", ErrConfig, err)
	}
	topic := Topic(r.cfg.Instance)
	if err = r.ps.RegisterTopicValidator(topic, r.validate, pubsub.WithValidatorTimeout(time.Minute)); err != nil {
		return fmt.Errorf("%w: validator: %v", ErrConfig, err)
	}
	if r.topic, err = r.ps.Join(topic); err != nil {
		return fmt.Errorf("%w: join %s: %v", ErrConfig, topic, err)
	}
	if r.ev, err = r.topic.EventHandler(); err != nil {
		return fmt.Errorf("%w: topic events: %v", ErrConfig, err)
	}
	if r.sub, err = r.topic.Subscribe(); err != nil {
		return fmt.Errorf("%w: subscribe %s: %v", ErrConfig, topic, err)
	}
	return nil
}

// messageID is the SHA-256 of the bytes: one copy is one message whoever
// publishes it.
func messageID(m *pb.Message) string {
	sum := sha256.Sum256(m.GetData())
	return string(sum[:])
}

func (r *Relay) goRun(f func()) {
	r.wg.Add(1)
	go func() { defer r.wg.Done(); f() }()
}

// Close leaves the topic and stops the relay's loops.
func (r *Relay) Close() {
	r.cfg.Host.Unhandle(transport.ConfigProtocol)
	r.cancel()
	r.sub.Cancel()
	r.ev.Cancel()
	r.wg.Wait()
	_ = r.topic.Close()
}

// TopicPeers returns how many peers take part in the topic with this node.
func (r *Relay) TopicPeers() int { return len(r.topic.ListPeers()) }

// Stats returns the relay's counters.
func (r *Relay) Stats() *Stats { return &r.stats }

// Updated tells the relay the held configuration changed (call it from
// OnUpdate; it never blocks): it publishes the copy unless it came from
// the topic.
func (r *Relay) Updated() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Relay) setKnown(raw []byte) {
	sum := sha256.Sum256(raw)
	r.mu.Lock()
	r.known = sum
	r.mu.Unlock()
}

func (r *Relay) isKnown(raw []byte) bool {
	sum := sha256.Sum256(raw)
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.known == sum
}

// validate is the topic validator: every message, received or our own,
// passes it before it is delivered or forwarded.
func (r *Relay) validate(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if from == r.cfg.Host.ID() {
		if bytes.Equal(m.GetData(), r.cfg.Conf.Signed()) {
			return pubsub.ValidationAccept
		}
		return pubsub.ValidationIgnore // superseded while it waited
	}
	return r.offer(from, m.GetData(), viaTopic)
}

// Where an offered copy came from.
const (
	viaTopic = "pubsub" // the topic: pubsub forwards it, the node does not publish it again
	viaPull  = "pull"   // a catch-up answer: published like a fetched copy, so a healed partition learns it
)

// offer checks a configuration a peer sent and accepts it if newer; the
// result says whether to forward it.
func (r *Relay) offer(from peer.ID, raw []byte, via string) pubsub.ValidationResult {
	if len(raw) > r.cfg.MaxMessage {
		r.stats.Rejected.Add(1)
		r.log.Warn("relayed configuration refused", "peer", from.String(), "via", via, "code", "too_large",
			"bytes", len(raw), "max_bytes", r.cfg.MaxMessage)
		return pubsub.ValidationReject
	}
	if via == viaTopic {
		// Before Accept: its OnUpdate must not publish the copy again.
		r.setKnown(raw)
	}
	if bytes.Equal(raw, r.cfg.Conf.Signed()) {
		r.stats.Forwarded.Add(1)
		return pubsub.ValidationAccept
	}
	doc, err := r.cfg.Conf.Accept(raw)
	switch {
	case errors.Is(err, globalconf.ErrStale):
		r.stats.Ignored.Add(1)
		r.log.Debug("older relayed configuration not forwarded", "peer", from.String(), "via", via, "error", err)
		return pubsub.ValidationIgnore
	case err != nil:
		r.stats.Rejected.Add(1)
		r.log.Warn("relayed configuration refused", "peer", from.String(), "via", via,
			"code", globalconf.Codes.Code(err), "bytes", len(raw), "error", err)
		return pubsub.ValidationReject
	case !bytes.Equal(raw, r.cfg.Conf.Signed()):
		r.stats.Ignored.Add(1)
		r.log.Debug("earlier signing of the held configuration not forwarded", "peer", from.String(), "via", via, "version", doc.Version)
		return pubsub.ValidationIgnore
	}
	r.stats.Forwarded.Add(1)
	return pubsub.ValidationAccept
}

// publish publishes raw once the topic's mesh has a peer (a publication
// before that reaches no one), waiting up to readyWait.
func (r *Relay) publish(ctx context.Context, raw []byte) error {
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	return r.topic.Publish(ctx, raw, pubsub.WithReadiness(pubsub.MinTopicSize(1)))
}

// drain reads the subscription: messages were acted on in validate.
func (r *Relay) drain(ctx context.Context) {
	for {
		if _, err := r.sub.Next(ctx); err != nil {
			return
		}
	}
}

// publishLoop publishes each held copy the topic has not carried, after a
// random delay up to PublishDelay: if another node's copy arrives first,
// pubsub knows the message and ours is never sent.
func (r *Relay) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		raw := r.cfg.Conf.Signed()
		if raw == nil || r.isKnown(raw) {
			continue
		}
		if len(raw) > r.cfg.MaxMessage {
			r.log.Warn("configuration too large to relay; peers fetch it from the registry", "bytes", len(raw), "max_bytes", r.cfg.MaxMessage)
			r.setKnown(raw)
			continue
		}
		if d := r.cfg.PublishDelay; d > 0 {
			t := time.NewTimer(rand.N(d))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if r.isKnown(raw) {
			continue
		}
		r.setKnown(raw)
		if err := r.publish(ctx, raw); err != nil {
			if ctx.Err() == nil {
				r.log.Info("configuration not published; peers catch up from this node instead", "error", err)
			}
			continue
		}
		r.stats.Published.Add(1)
		if doc, _, _ := r.cfg.Conf.Current(); doc != nil {
			r.log.Debug("configuration published", "version", doc.Version, "bytes", len(raw))
		}
	}
}
