package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// The contract of a service version (R-F2): when its catalogue entry
// publishes schema digests, the node serves the version only while the
// schema files node.json names for it are those files — the same type,
// and the same SHA-256 for the request schema and for the response
// schema (none where the entry names none). Otherwise a call to the
// version is refused with exchange.ErrSchemaMismatch before its body is
// read, and the node logs a warning once per version and configuration
// version, so a consumer never gets an answer checked against a contract
// the catalogue does not publish. An entry without digests leaves the
// node's own schemas, if any, in force.

// schemaFiles are one version's schema files as the node read them.
type schemaFiles struct {
	typ                     string // services.SchemaJSON or SchemaXSD
	request, response       []byte // nil: none
	requestSHA, responseSHA string // hex; "" for none
}

// sum fills in the digests.
func (f *schemaFiles) sum() *schemaFiles {
	hash := func(b []byte) string {
		if b == nil {
			return ""
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	f.requestSHA, f.responseSHA = hash(f.request), hash(f.response)
	return f
}

// published reports whether svc's entry publishes schema digests.
func published(svc *globalconf.Service) bool {
	return svc != nil && (svc.RequestSchemaSHA256 != "" || svc.ResponseSchemaSHA256 != "")
}

// matches reports whether f (nil: no schemas) are the schemas svc
// publishes.
func (f *schemaFiles) matches(svc *globalconf.Service) bool {
	if f == nil {
		return false
	}
	return f.typ == svc.SchemaType && f.requestSHA == svc.RequestSchemaSHA256 && f.responseSHA == svc.ResponseSchemaSHA256
}

// contractWarnings remembers, per service version ID, the configuration
// version a mismatch was last logged for.
type contractWarnings struct {
	mu   sync.Mutex
	last map[string]uint64
}

// first reports whether id's mismatch under configuration version is not
// logged yet, and records it.
func (w *contractWarnings) first(id string, version uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last == nil {
		w.last = map[string]uint64{}
	}
	if v, ok := w.last[id]; ok && v == version {
		return false
	}
	w.last[id] = version
	return true
}

// versionID is the catalogue ID of version ver of p.
func versionID(p *provided, ver string) string {
	id := p.id
	id.Version = ver
	return id.String()
}

// checkContract refuses version ver of p with exchange.ErrSchemaMismatch
// when v's catalogue entry for it publishes schemas the node's files are
// not, logging it once per configuration version.
func (pr *Provider) checkContract(v *confview.View, p *provided, ver string) error {
	id := versionID(p, ver)
	svc := v.Service(id)
	if !published(svc) {
		return nil
	}
	own := p.schemaFiles[ver]
	if own.matches(svc) {
		return nil
	}
	if pr.warned.first(id, v.Doc().Version) {
		typ, req, resp := "", "", ""
		if own != nil {
			typ, req, resp = own.typ, own.requestSHA, own.responseSHA
		}
		log := pr.cfg.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("schemas differ from the catalogue: calls to this service version are refused (schema_mismatch) until node.json names the published schema files",
			"service", id, "config_version", v.Doc().Version,
			"catalogue_schema_type", svc.SchemaType, "catalogue_request_sha256", svc.RequestSchemaSHA256, "catalogue_response_sha256", svc.ResponseSchemaSHA256,
			"node_schema_type", typ, "node_request_sha256", req, "node_response_sha256", resp)
	}
	return fmt.Errorf("%w: %s: this node's schema files are not the ones its catalogue entry publishes", exchange.ErrSchemaMismatch, id)
}

// contract is the gate's contract check for a call to sid under v.
func (pr *Provider) contract(v *confview.View, sid services.ServiceID) func(string) error {
	return func(ver string) error {
		p := pr.provided[sid.Unversioned().String()]
		if p == nil {
			return nil
		}
		return pr.checkContract(v, p, ver)
	}
}

// CheckSchemas compares every provided version's schemas with v's
// catalogue, as each new configuration comes in, and logs a mismatch
// (once per version and configuration version): calls to such a version
// are refused until the files are the published ones.
func (pr *Provider) CheckSchemas(v *confview.View) {
	if v == nil {
		return
	}
	for _, p := range pr.sortedProvided() {
		for _, ver := range p.cfg.Versions {
			_ = pr.checkContract(v, p, ver.Version)
		}
	}
}
