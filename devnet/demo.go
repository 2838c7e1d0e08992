package devnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/services"
)

// The demo's two agencies: A consumes, B provides the sample service.
var (
	AgencyA = Agency{Code: "000.00.00.A01", Name: "So Tu phap (demo agency A)", Subsystem: "TUPHAP"}
	AgencyB = Agency{Code: "000.00.00.B01", Name: "Cong an tinh (demo agency B)", Subsystem: "DANCU"}
)

// Unlimited are budgets no load test on one machine reaches: 100 million
// reads and writes a minute per client ("rate limits off").
var Unlimited = services.Limits{ReadsPerMin: 100_000_000, WritesPerMin: 100_000_000}

// SampleServiceCode is the code of the demo's published REST service;
// SampleSOAPCode that of its SOAP service.
const (
	SampleServiceCode = "population"
	SampleSOAPCode    = "getCitizen"
)

// Demo is the embedded default network: registry, CA, TSA, agency A's node
// (consumer), agency B's node (provider) and B's sample backend, with the
// sample service published and granted to A.
type Demo struct {
	*Network
	A, B       *NodeHandle
	BackendURL string
	ClientA    string // A's subsystem ID
	Service    string // the sample service ID
	// ISCert and ISKey are A's information system's TLS client
	// certificate and key (pinned in A's node.json); APICert is A's
	// consumer API certificate, to trust.
	ISCert, ISKey, APICert string
	// ClientB is B's subsystem (the provider's, and the recipient of
	// documents); ISBCert and ISBKey its information system's pinned
	// client certificate and key on B's node, APICertB B's API
	// certificate.
	ClientB, ISBCert, ISBKey, APICertB string
}

// DemoOptions configures StartDemo.
type DemoOptions struct {
	Options
	// APIListenA and APIListenB are the consumer API addresses (default
	// 127.0.0.1:0).
	APIListenA, APIListenB string
	// BackendListen is the sample backend's address (default 127.0.0.1:0).
	BackendListen string
	// RateLimits, if set, are the per-client budgets of B's services
	// (Unlimited turns them off for load tests); nil keeps the signed
	// policy's (R-T1: 1,000 reads and 300 writes a minute).
	RateLimits *services.Limits
	// ConfigureA and ConfigureB, if set, edit A's and B's node
	// configurations further.
	ConfigureA, ConfigureB func(*node.Config)
}

// StartDemo starts the embedded default network.
func StartDemo(ctx context.Context, o DemoOptions) (_ *Demo, err error) {
	nw, err := Start(ctx, o.Options)
	if err != nil {
		return nil, err
	}
	d := &Demo{Network: nw}
	defer func() {
		if err != nil {
			nw.Close()
		}
	}()
	ln, err := net.Listen("tcp", or(o.BackendListen, "127.0.0.1:0"))
	if err != nil {
		return nil, fmt.Errorf("sample backend: %w", err)
	}
	nw.serve(ln, SampleBackend())
	d.BackendURL = "http://" + ln.Addr().String()
	d.ClientA = nw.SubsystemID(AgencyA)
	provider := nw.SubsystemID(AgencyB)
	d.Service = provider + "/" + SampleServiceCode

	var isSHA, isBSHA string
	if d.ISCert, d.ISKey, isSHA, err = systemCert(nw.Dir, "information-system-a"); err != nil {
		return nil, err
	}
	if d.ISBCert, d.ISBKey, isBSHA, err = systemCert(nw.Dir, "information-system-b"); err != nil {
		return nil, err
	}
	d.ClientB = provider
	a := AgencyA
	a.Configure = func(c *node.Config) {
		c.APIListen = or(o.APIListenA, "127.0.0.1:0")
		c.Clients = []node.ClientCert{{Subsystem: d.ClientA, CertSHA256: isSHA}}
		if o.ConfigureA != nil {
			o.ConfigureA(c)
		}
	}
	b := AgencyB
	b.Configure = func(c *node.Config) {
		c.APIListen = or(o.APIListenB, "127.0.0.1:0")
		c.Clients = []node.ClientCert{{Subsystem: provider, CertSHA256: isBSHA}}
		c.Services = []node.ServiceConfig{{Subsystem: provider, Description: services.Description{Code: SampleServiceCode,
			Versions: []services.Version{{Lifecycle: ident.ServicePublished, BackendURL: d.BackendURL, OpenAPI: []byte(SampleOpenAPI)}}}},
			{Subsystem: provider, Description: services.Description{Code: SampleSOAPCode,
				Versions: []services.Version{{Version: "v1", Lifecycle: ident.ServicePublished, BackendURL: d.BackendURL + "/soap",
					WSDL: SampleWSDL(d.BackendURL)}}}}}
		c.Access = services.AccessConfig{Rules: []services.Rule{AllowAll(d.ClientA, d.Service), AllowAll(d.ClientA, provider+"/"+SampleSOAPCode)}}
		if o.RateLimits != nil {
			c.RateLimits.Defaults = *o.RateLimits
		}
		if o.ConfigureB != nil {
			o.ConfigureB(c)
		}
	}
	if d.A, err = nw.Admit(ctx, a); err != nil {
		return nil, err
	}
	if d.B, err = nw.Admit(ctx, b); err != nil {
		return nil, err
	}
	if err := nw.Publish(ctx, provider, SampleServiceCode, "", []byte(SampleOpenAPI)); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := nw.Publish(ctx, provider, SampleSOAPCode, "v1", nil); err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := nw.WaitConfig(ctx, d.A, d.B); err != nil {
		return nil, err
	}
	d.APICert = filepath.Join(d.A.Dir, node.FileAPICert)
	d.APICertB = filepath.Join(d.B.Dir, node.FileAPICert)
	return d, nil
}

// CurlCommand is a ready curl command calling B's sample service from A's
// side, authenticated with A's information-system certificate.
func (d *Demo) CurlCommand(path string) string {
	return fmt.Sprintf("curl -sS --cacert %s --cert %s --key %s https://%s/r1/%s%s",
		d.APICert, d.ISCert, d.ISKey, d.A.Node.APIAddr(), d.Service, path)
}

// systemCert creates an information system's client certificate in
// dir/name.
func systemCert(dir, name string) (cert, key, sha string, err error) {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", "", "", err
	}
	return ClientCert(d, "client")
}

// DeliveryCommands are the curl commands that send FILE from A's system
// to B's as a document, list B's inbox, fetch and acknowledge document ID,
// and show its status and signed receipt at A.
func (d *Demo) DeliveryCommands() (send, inbox, fetch, ack, status string) {
	a := fmt.Sprintf("curl -sS --cacert %s --cert %s --key %s 'https://%s", d.APICert, d.ISCert, d.ISKey, d.A.Node.APIAddr())
	b := fmt.Sprintf("curl -sS --cacert %s --cert %s --key %s 'https://%s", d.APICertB, d.ISBCert, d.ISBKey, d.B.Node.APIAddr())
	return a + "/dxl/documents?recipient=" + d.ClientB + "&title=demo&type=note' --data-binary @FILE",
		b + "/dxl/inbox'", b + "/dxl/inbox/ID'", b + "/dxl/inbox/ID/ack' -X POST", a + "/dxl/documents/ID'"
}

// DocFlags are the dxl doc flags of A's and of B's information system:
// the node's API, its certificate, the system's client certificate.
func (d *Demo) DocFlags() (a, b string) {
	flags := "--node https://%s --cacert %s --cert %s --key %s"
	return fmt.Sprintf(flags, d.A.Node.APIAddr(), d.APICert, d.ISCert, d.ISKey),
		fmt.Sprintf(flags, d.B.Node.APIAddr(), d.APICertB, d.ISBCert, d.ISBKey)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
