package node

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/dxl-network/dxl/internal/httpserve"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/node/alert"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/provider"
	"github.com/dxl-network/dxl/services"
)

// Files in a node directory.
const (
	FileConfig     = "node.json"
	FileAuthKey    = "node.key"    // Ed25519 auth key, the libp2p identity (sealed)
	FileAuthCert   = "node.pem"    // node-auth certificate + intermediate
	FileSignKey    = "sign.key"    // member signing key (sealed)
	FileSignCert   = "sign.pem"    // member-sign certificate + intermediate
	FileTokenKey   = "token.key"   // ES256 key of the token endpoint (sealed)
	FileAPIKey     = "api.key"     // consumer API TLS key (sealed)
	FileAPICert    = "api.pem"     // consumer API TLS certificate (self-signed)
	FileArchiveKey = "archive.key" // seed of the body-archive key (sealed)
	FileMessageLog = "messages.db"
	FileRecords    = "records.db"
	FileAnchor     = "anchor.json"
	FileDB         = "node.db"
	FileEnrollment = "enrollment.json"
)

// Defaults.
const (
	DefaultAPIListen      = "127.0.0.1:8443"
	DefaultP2PListen      = "/ip4/0.0.0.0/tcp/4001"
	DefaultConfigInterval = time.Minute
	DefaultMaxBody        = 4 << 30
	DefaultCallTimeout    = 60 * time.Second
)

// Config is a node's node.json. Everything about the network comes from the
// signed global configuration; this file holds what is the node operator's
// own: addresses, the information systems allowed to call, and the services
// this node provides with their access rights and rate limits.
type Config struct {
	// Member is the member this node belongs to, INSTANCE/CLASS/CODE.
	Member string `json:"member"`
	// P2PListen are the libp2p listen multiaddrs; P2PAnnounce, if set, are
	// the addresses registered for other nodes to dial (default: the listen
	// addresses).
	P2PListen   []string `json:"p2p_listen"`
	P2PAnnounce []string `json:"p2p_announce,omitempty"`
	// APIListen is the consumer HTTPS API address for information systems.
	APIListen string `json:"api_listen"`
	// ConfigInterval is how often the global configuration is refreshed
	// when a registry server does not hold long-polls (the node long-polls
	// and learns changes from its peers; docs/global-config.md).
	ConfigInterval Duration `json:"config_interval,omitempty"`
	// MaxBody caps a request or response body (bytes, default 4 GiB).
	// Bodies stream: past their first MiB they are spooled, encrypted, in
	// DIR/spool while a node signs or forwards them, so memory does not grow
	// with them (archived and validated bodies: exchange.MaxWholeBody).
	MaxBody int64 `json:"max_body,omitempty"`
	// CallTimeout bounds one call end to end, backend included.
	CallTimeout Duration `json:"call_timeout,omitempty"`
	// Clients are information systems authenticated by a TLS client
	// certificate, pinned by SHA-256 (the alternative is a bearer token
	// from the token endpoint).
	Clients []ClientCert `json:"clients,omitempty"`
	// Services are the services this node provides.
	Services []ServiceConfig `json:"services,omitempty"`
	// Access are the access rights to them; RateLimits the per-client
	// budgets (defaults from the signed policy).
	Access     services.AccessConfig    `json:"access"`
	RateLimits services.RateLimitConfig `json:"rate_limits"`
	LGSP       []services.LGSPRoute     `json:"lgsp,omitempty"`
	// IPRules are allow and deny CIDR lists for the information-system
	// API and per service, checked before authentication (nil: any
	// address); Validate compiles them.
	IPRules  *services.IPRules `json:"ip_rules,omitempty"`
	ipFilter *services.IPFilter
	// Masking are the fields of this node's JSON answers masked, hashed
	// or dropped per consumer subsystem or member; Validate compiles them.
	Masking []services.MaskRule `json:"masking,omitempty"`
	// XSDValidator is the path of xmllint (libxml2-utils), which checks
	// the bodies of versions with an XSD schema (schemas[].type "xsd").
	XSDValidator string `json:"xsd_validator,omitempty"`
	masker       *services.Masker
	// Alerts are the abnormal-access alerts' thresholds and webhook
	// (node/alert; defaults: 20 refusals from one address or subsystem
	// within 1 min).
	Alerts alert.Config `json:"alerts,omitzero"`
	// MessageLog configures the message log and its batch timestamps;
	// Records the operational records (DESIGN.md §6).
	MessageLog MessageLogConfig `json:"message_log,omitzero"`
	Records    RecordsConfig    `json:"records,omitzero"`
	// MetricsListen, if set, serves Prometheus metrics at /metrics there
	// (plain HTTP: bind it to loopback or a monitoring network).
	MetricsListen string `json:"metrics_listen,omitempty"`
	// APILimits are the consumer API's HTTP limits.
	APILimits APILimits `json:"api_limits,omitzero"`
	// Durability is what answering a call waits for (docs/architecture.md,
	// "The journal"): "disk" (the default), the call's records synced to
	// disk in the node's journal; "process", the records written to the
	// journal, which survives any crash of the node's process but not a
	// power cut of the 10 ms before it (the journal is synced that often).
	Durability string `json:"durability,omitempty"`
	// SIEM exports the admin audit log's actions and security events
	// (refused token requests, throttling) to a syslog collector over TLS
	// and/or a JSON lines file (internal/siem).
	SIEM siem.Config `json:"siem,omitzero"`
	// Delivery configures asynchronous document delivery.
	Delivery DeliveryConfig `json:"delivery,omitzero"`
	// Console configures the web console under /console/ on the consumer
	// API listener (docs/console.md).
	Console ConsoleConfig `json:"console,omitzero"`
}

// APILimits are the consumer API's HTTP server limits (internal/httpserve).
type APILimits struct {
	// ReadTimeout bounds reading one request with its body (default 60 s):
	// a client sending slower is cut off. Raise it with max_body for slow
	// links. The answer may take this, plus call_timeout, plus a minute.
	ReadTimeout Duration `json:"read_timeout,omitempty"`
	// MaxHeaderBytes caps a request's headers (default 64 KiB; 431 beyond).
	MaxHeaderBytes int `json:"max_header_bytes,omitempty"`
	// MaxConnsPerIP caps the connections one client IP holds open (default
	// 64); more are closed at once.
	MaxConnsPerIP int `json:"max_conns_per_ip,omitempty"`
}

// apiServer is the consumer API's httpserve configuration.
func (c *Config) apiServer(log *slog.Logger) httpserve.Config {
	read := time.Duration(c.APILimits.ReadTimeout)
	if read <= 0 {
		read = httpserve.DefaultReadTimeout
	}
	return httpserve.Config{Name: "node_api", ReadHeaderTimeout: min(10*time.Second, read), ReadTimeout: read,
		WriteTimeout: read + time.Duration(c.CallTimeout) + time.Minute, MaxHeaderBytes: c.APILimits.MaxHeaderBytes,
		MaxConnsPerIP: c.APILimits.MaxConnsPerIP, Logger: log}
}

// MessageLogConfig configures the message log.
type MessageLogConfig struct {
	// Retention is how long records are kept (default 365 days; whole
	// timestamped batches are pruned, the chain stays verifiable).
	Retention Duration `json:"retention,omitempty"`
	// ArchiveBodies lists services (unversioned IDs) whose request and
	// response bodies are archived, encrypted (AES-256-GCM), beside their
	// records. Bodies are otherwise never kept.
	ArchiveBodies []string `json:"archive_bodies,omitempty"`
	// AcceptableFailure is how long records may wait for a timestamp
	// (every TSA down) before the node refuses new exchanges (default 2h);
	// FailOpen keeps exchanging instead, logging loudly.
	AcceptableFailure Duration `json:"acceptable_failure,omitempty"`
	FailOpen          bool     `json:"fail_open,omitempty"`
	// StampInterval overrides the signed policy's timestamp_interval.
	StampInterval Duration `json:"stamp_interval,omitempty"`
}

// RecordsConfig configures the operational records.
type RecordsConfig struct {
	// Retention of call records (default 365 days) and of the level-2
	// health history (default 100 days).
	Retention       Duration `json:"retention,omitempty"`
	HealthRetention Duration `json:"health_retention,omitempty"`
	// HealthInterval is how often the provided services' backends are
	// checked for the health history (default 5 minutes).
	HealthInterval Duration `json:"health_interval,omitempty"`
}

// ClientCert pins an information system's TLS client certificate.
type ClientCert struct {
	Subsystem  string `json:"subsystem"`
	CertSHA256 string `json:"cert_sha256"`
	// CertFile, if set, is the pinned certificate (PEM, relative to the
	// node directory): the node then warns, at start and daily, before it
	// expires (PinWarning), and when the file is not the pinned one.
	CertFile string `json:"cert_file,omitempty"`
}

// ServiceConfig is one service this node provides.
type ServiceConfig = provider.ServiceConfig

// Duration is a time.Duration written as Go duration text ("1m0s").
type Duration = services.Duration

func (c *Config) withDefaults() {
	if len(c.P2PListen) == 0 {
		c.P2PListen = []string{DefaultP2PListen}
	}
	if c.APIListen == "" {
		c.APIListen = DefaultAPIListen
	}
	if c.ConfigInterval <= 0 {
		c.ConfigInterval = Duration(DefaultConfigInterval)
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = Duration(DefaultCallTimeout)
	}
	if c.Records.HealthInterval <= 0 {
		c.Records.HealthInterval = Duration(5 * time.Minute)
	}
}

// Validate checks the configuration after defaults.
func (c *Config) Validate() error {
	c.withDefaults()
	if _, err := ident.ParseMember(c.Member, ""); err != nil {
		return fmt.Errorf("%w: member: %v", ErrConfig, err)
	}
	if _, err := wal.ParseMode(c.Durability); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := c.SIEM.Validate(); err != nil {
		return fmt.Errorf("%w: siem: %v", ErrConfig, err)
	}
	if err := c.Console.Validate(); err != nil {
		return fmt.Errorf("%w: console: %v", ErrConfig, err)
	}
	for _, list := range [][]string{c.P2PListen, c.P2PAnnounce} {
		for _, a := range list {
			if _, err := ma.NewMultiaddr(a); err != nil {
				return fmt.Errorf("%w: multiaddr %q: %v", ErrConfig, a, err)
			}
		}
	}
	if _, _, err := net.SplitHostPort(c.APIListen); err != nil {
		return fmt.Errorf("%w: api_listen: %v", ErrConfig, err)
	}
	for _, cl := range c.Clients {
		if _, err := services.ParseSubsystemID(cl.Subsystem); err != nil {
			return fmt.Errorf("%w: client %q: %v", ErrConfig, cl.Subsystem, err)
		}
		if len(cl.CertSHA256) != 64 {
			return fmt.Errorf("%w: client %s: cert_sha256 must be 64 hex digits", ErrConfig, cl.Subsystem)
		}
	}
	seen := map[string]bool{}
	for i := range c.Services {
		s := &c.Services[i]
		sub, err := services.ParseSubsystemID(s.Subsystem)
		if err != nil {
			return fmt.Errorf("%w: service subsystem %q: %v", ErrConfig, s.Subsystem, err)
		}
		if sub.Member.String() != c.Member {
			return fmt.Errorf("%w: service %s/%s: subsystem is not of member %s", ErrConfig, s.Subsystem, s.Code, c.Member)
		}
		if exchange.IsMeta(s.Code) {
			return fmt.Errorf("%w: service code %q is reserved for metadata calls", ErrConfig, s.Code)
		}
		if err := s.Description.Validate(); err != nil {
			return fmt.Errorf("%w: service %s/%s: %v", ErrConfig, s.Subsystem, s.Code, err)
		}
		key := s.Subsystem + "/" + s.Code
		if seen[key] {
			return fmt.Errorf("%w: service %s listed twice", ErrConfig, key)
		}
		seen[key] = true
	}
	for _, s := range c.MessageLog.ArchiveBodies {
		if _, err := services.ParseServiceID(s); err != nil || !seen[s] {
			return fmt.Errorf("%w: message_log.archive_bodies: %q is not a service of this node", ErrConfig, s)
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return fmt.Errorf("%w: metrics_listen: %v", ErrConfig, err)
		}
	}
	if err := c.RateLimits.Validate(); err != nil {
		return fmt.Errorf("%w: rate_limits: %v", ErrConfig, err)
	}
	if c.APILimits.ReadTimeout < 0 || c.APILimits.MaxHeaderBytes < 0 || c.APILimits.MaxConnsPerIP < 0 {
		return fmt.Errorf("%w: api_limits: negative value", ErrConfig)
	}
	if err := c.apiServer(nil).Validate(); err != nil {
		return fmt.Errorf("%w: api_limits: %v", ErrConfig, err)
	}
	if err := c.compileRules(); err != nil {
		return err
	}
	return c.Delivery.validate()
}

// compileRules checks and compiles the governance rules: alerts, IP
// rules and masking.
func (c *Config) compileRules() error {
	if err := c.Alerts.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	f, err := c.IPRules.Compile()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c.ipFilter = f
	if c.masker, err = services.CompileMasks(c.Masking, c.Access.LocalGroups); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return nil
}

// LoadConfig reads DIR/node.json and the OpenAPI and WSDL files it names.
func LoadConfig(dir string) (*Config, error) {
	raw, err := os.ReadFile(filepath.Join(dir, FileConfig))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	for i := range c.Services {
		s := &c.Services[i]
		for _, files := range []struct {
			name  string
			files map[string]string
			dst   func(*services.Version) *[]byte
		}{
			{"openapi_files", s.OpenAPIFiles, func(v *services.Version) *[]byte { return &v.OpenAPI }},
			{"wsdl_files", s.WSDLFiles, func(v *services.Version) *[]byte { return &v.WSDL }},
		} {
			for ver, file := range files.files {
				v, err := s.Description.Lookup(ver)
				if err != nil {
					return nil, fmt.Errorf("%w: service %s: %s: %v", ErrConfig, s.Code, files.name, err)
				}
				if !filepath.IsAbs(file) {
					file = filepath.Join(dir, file)
				}
				if *files.dst(v), err = os.ReadFile(file); err != nil {
					return nil, fmt.Errorf("%w: service %s: %v", ErrConfig, s.Code, err)
				}
			}
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// MaxConfigSize caps node.json.
const MaxConfigSize = 4 << 20

// ParseConfig decodes node.json strictly (unknown fields, trailing data and
// oversized files are refused); LoadConfig then reads the OpenAPI files it
// names and validates.
func ParseConfig(raw []byte) (*Config, error) {
	if len(raw) > MaxConfigSize {
		return nil, fmt.Errorf("%w: %s over %d bytes", ErrConfig, FileConfig, MaxConfigSize)
	}
	var c Config
	if err := jsonin.DecodeFile(FileConfig, raw, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return &c, nil
}

// SaveConfig writes c to DIR/node.json (0600), replacing it atomically.
func SaveConfig(dir string, c *Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	// OpenAPI bytes loaded from files are not written back inline.
	out := *c
	out.Services = append([]ServiceConfig(nil), c.Services...)
	for i := range out.Services {
		s := &out.Services[i]
		vs := append([]services.Version(nil), s.Versions...)
		for j := range vs {
			if _, fromFile := s.OpenAPIFiles[vs[j].Version]; fromFile {
				vs[j].OpenAPI = nil
			}
			if _, fromFile := s.WSDLFiles[vs[j].Version]; fromFile {
				vs[j].WSDL = nil
			}
		}
		s.Versions = vs
	}
	raw, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, FileConfig+".tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, FileConfig))
}
