package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/services"
)

// Views is what the provider needs of the node's configuration.
type Views interface {
	// Latest is the newest view, nil before any configuration.
	Latest() *confview.View
	// Current is the view the data path may use (confview.ErrNoConfig
	// when none is, or it is too old).
	Current() (*confview.View, error)
}

// HealthSink keeps the level-2 health history (oprec.Store).
type HealthSink interface {
	AddHealth(oprec.HealthSample)
}

// Config is what a Provider is built from.
type Config struct {
	Dir      string // the node directory (relative backend_ca files)
	Services []ServiceConfig
	Access   services.AccessConfig
	// Masks are the masking rules per consumer (nil: none); mask.go.
	Masks *services.Masker
	// XSDValidator is xmllint's path, for XSD schemas (schema.go).
	XSDValidator string
	MaxBody      int64
	// SpoolDir holds backend answers past their first MiB while they are
	// signed and sent (internal/spool; "" is the system's temporary
	// directory).
	SpoolDir       string
	CallTimeout    time.Duration
	HealthInterval time.Duration

	Views  Views
	Signer *envelope.Signer
	Replay envelope.ReplayGuard // durable: node/replay.Guard
	Dialer Dialer               // to the member's other nodes, for claims
	Logs   *exchange.Logs
	Health HealthSink
	Self   string          // this node's peer ID, text form
	Member string          // this node's member, text form
	Life   context.Context // the node's lifetime: backend calls end with it
	Now    func() time.Time
	Logger *slog.Logger
}

// Provider serves this node's services to other nodes on
// /dxl/call/1.0.0.
type Provider struct {
	cfg      Config
	provided map[string]*provided // by unversioned service ID
	gate     *services.Gate
	warned   contractWarnings
}

// ServiceConfig is one service this node provides.
type ServiceConfig struct {
	// Subsystem is the providing subsystem, INSTANCE/CLASS/MEMBER/SUBSYSTEM.
	Subsystem string `json:"subsystem"`
	services.Description
	// OpenAPIFiles names, per version ("" for unversioned), an OpenAPI 3
	// file relative to the node directory; it fills Versions[].OpenAPI.
	OpenAPIFiles map[string]string `json:"openapi_files,omitempty"`
	// WSDLFiles names, per version, the WSDL of a SOAP service (relative
	// to the node directory); it fills Versions[].WSDL for getWsdl.
	WSDLFiles map[string]string `json:"wsdl_files,omitempty"`
	// ValidateRequests checks requests against the OpenAPI description
	// before the backend sees them.
	ValidateRequests bool `json:"validate_requests,omitempty"`
	// Schemas names, per version ("" for unversioned), the schemas of the
	// version's data type (relative to the node directory): request bodies
	// are checked before the backend sees them, responses too with
	// validate_responses.
	Schemas map[string]SchemaConfig `json:"schemas,omitempty"`
	// HealthPath is called by the level-2 health check (default "/").
	HealthPath string `json:"health_path,omitempty"`
	// BackendCA is a PEM file (relative to the node directory) of CA
	// certificates for an https backend; empty means the system roots.
	BackendCA string `json:"backend_ca,omitempty"`
}

// SchemaConfig is the schemas of one version's data type.
type SchemaConfig struct {
	// Type is "json" (JSON Schema 2020-12, the default) or "xsd" (an XML
	// Schema, checked by Config.XSDValidator: xmllint).
	Type string `json:"type,omitempty"`
	// Request and Response are schema files; either may be empty.
	Request  string `json:"request,omitempty"`
	Response string `json:"response,omitempty"`
	// ValidateResponses checks the backend's answers against Response
	// before they are signed; an answer that fails is not sent.
	ValidateResponses bool `json:"validate_responses,omitempty"`
}

// provided is one service this node serves, compiled from node.json.
type provided struct {
	cfg  *ServiceConfig
	id   services.ServiceID // unversioned
	apis map[string]*services.OpenAPI
	// requests and responses are the compiled schemas, by version
	// (responses only for versions with validate_responses).
	requests, responses map[string]*services.Schema
	// schemaFiles are the schema files as read, with their SHA-256, by
	// version (contract.go).
	schemaFiles map[string]*schemaFiles
	wsdls       map[string][]byte // by version, endpoints hidden
	client      *http.Client
}

// groupsOf adapts the node's current configuration to services.Groups.
type groupsOf struct{ v Views }

func (g groupsOf) Members(code string) []string {
	if v := g.v.Latest(); v != nil {
		return v.Members(code)
	}
	return nil
}

// New compiles the provided services (their OpenAPI descriptions and
// backend clients) and their access rights into a Provider.
func New(cfg Config) (*Provider, error) {
	pr := &Provider{cfg: cfg}
	if err := pr.loadServices(); err != nil {
		return nil, err
	}
	return pr, nil
}

// SetAccess compiles cfg and, if it is valid, installs it for the calls
// admitted from now on; an invalid cfg changes nothing (ErrInvalidRule).
func (pr *Provider) SetAccess(cfg services.AccessConfig) error {
	acl, err := services.NewACL(cfg, groupsOf{pr.cfg.Views})
	if err != nil {
		return err
	}
	pr.gate.SetACL(acl)
	return nil
}

// Gate is the policy gate (its limiter is replaced on new policy).
func (pr *Provider) Gate() *services.Gate { return pr.gate }

// Provides reports whether the node provides any service.
func (pr *Provider) Provides() bool { return len(pr.provided) > 0 }

func (pr *Provider) loadServices() error {
	pr.provided = map[string]*provided{}
	for i := range pr.cfg.Services {
		sc := &pr.cfg.Services[i]
		id, err := services.ParseServiceID(sc.Subsystem + "/" + sc.Code)
		if err != nil {
			return fmt.Errorf("%w: %v", exchange.ErrConfig, err)
		}
		p := &provided{cfg: sc, id: id, apis: map[string]*services.OpenAPI{}, wsdls: map[string][]byte{}}
		for _, v := range sc.Versions {
			if len(v.WSDL) > 0 {
				if p.wsdls[v.Version], err = services.PrepareWSDL(v.WSDL); err != nil {
					return fmt.Errorf("%w: service %s version %q: %v", exchange.ErrConfig, id, v.Version, err)
				}
			}
			if len(v.OpenAPI) == 0 {
				continue
			}
			api, err := services.LoadOpenAPI(context.Background(), v.OpenAPI)
			if err != nil {
				return fmt.Errorf("%w: service %s version %q: %v", exchange.ErrConfig, id, v.Version, err)
			}
			p.apis[v.Version] = api
		}
		if err := pr.loadSchemas(p); err != nil {
			return err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if sc.BackendCA != "" {
			file := sc.BackendCA
			if !filepath.IsAbs(file) {
				file = filepath.Join(pr.cfg.Dir, file)
			}
			pemBytes, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("%w: backend_ca: %v", exchange.ErrConfig, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pemBytes) {
				return fmt.Errorf("%w: backend_ca %s holds no certificate", exchange.ErrConfig, file)
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		p.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		pr.provided[id.String()] = p
	}
	acl, err := services.NewACL(pr.cfg.Access, groupsOf{pr.cfg.Views})
	if err != nil {
		return fmt.Errorf("%w: access: %v", exchange.ErrConfig, err)
	}
	gated := make(map[string]*services.Provided, len(pr.provided))
	for key, p := range pr.provided {
		gp := &services.Provided{ID: p.id, Description: &p.cfg.Description}
		if p.cfg.ValidateRequests {
			gp.Validate = p.apis
		}
		gp.Schemas = p.requests
		gated[key] = gp
	}
	pr.gate = services.NewGate(gated, acl, pr.cfg.Now)
	return nil
}
