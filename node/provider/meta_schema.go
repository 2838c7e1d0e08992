package provider

import (
	"fmt"
	"net/http"

	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// Content types of getSchema's answer, by schema type.
const (
	schemaJSONType = "application/schema+json"
	schemaXMLType  = "application/xml; charset=utf-8"
)

// getSchema answers getSchema?serviceCode=CODE[&version=V]&direction=
// request|response: the schema file of the version's data type for that
// body, as node.json names it, byte for byte, so its SHA-256 is the
// catalogue's digest. A version whose catalogue entry publishes schemas
// the node's files are not is refused (schema_mismatch), like its calls:
// what a consumer fetches is the published contract or nothing.
func (pr *Provider) getSchema(sub services.SubsystemID, path string) (int, string, []byte, error) {
	p, ver, q, err := pr.metaTarget(exchange.MetaGetSchema, sub, path)
	if err != nil {
		return 0, "", nil, err
	}
	dir := q.Get("direction")
	if dir != "request" && dir != "response" {
		return 0, "", nil, fmt.Errorf("%w: getSchema needs ?direction=request or ?direction=response, not %q", exchange.ErrBadRequest, dir)
	}
	v, err := pr.cfg.Views.Current()
	if err != nil {
		return 0, "", nil, err
	}
	if err := pr.checkContract(v, p, ver.Version); err != nil {
		return 0, "", nil, err
	}
	f := p.schemaFiles[ver.Version]
	var raw []byte
	if f != nil {
		raw = f.request
		if dir == "response" {
			raw = f.response
		}
	}
	if raw == nil {
		return 0, "", nil, fmt.Errorf("%w: %s has no %s schema", exchange.ErrUnknownService, versionID(p, ver.Version), dir)
	}
	ctype := schemaJSONType
	if f.typ == services.SchemaXSD {
		ctype = schemaXMLType
	}
	return http.StatusOK, ctype, raw, nil
}
