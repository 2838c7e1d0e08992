package provider

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// loadSchemas compiles the schemas node.json names for p: a version that
// does not exist, a file that does not read or a schema that does not
// compile refuses the configuration, naming the service, version and file.
func (pr *Provider) loadSchemas(p *provided) error {
	p.requests, p.responses = map[string]*services.Schema{}, map[string]*services.Schema{}
	p.schemaFiles = map[string]*schemaFiles{}
	for ver, sc := range p.cfg.Schemas {
		if _, err := p.cfg.Description.Lookup(ver); err != nil {
			return fmt.Errorf("%w: service %s: schemas: %v", exchange.ErrConfig, p.id, err)
		}
		if sc.ValidateResponses && sc.Response == "" {
			return fmt.Errorf("%w: service %s version %q: schemas: validate_responses without a response schema", exchange.ErrConfig, p.id, ver)
		}
		files := &schemaFiles{typ: sc.Type}
		if files.typ == "" {
			files.typ = services.SchemaJSON
		}
		for _, f := range []struct {
			file string
			dst  map[string]*services.Schema
			raw  *[]byte
		}{{sc.Request, p.requests, &files.request}, {sc.Response, p.responses, &files.response}} {
			if f.file == "" {
				continue
			}
			file := f.file
			if !filepath.IsAbs(file) {
				file = filepath.Join(pr.cfg.Dir, file)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("%w: service %s version %q: schemas: %v", exchange.ErrConfig, p.id, ver, err)
			}
			var s *services.Schema
			if sc.Type == services.SchemaXSD {
				s, err = services.CompileXSD(file, pr.cfg.XSDValidator)
			} else {
				s, err = services.CompileSchema(file, sc.Type, raw)
			}
			if err != nil {
				return fmt.Errorf("%w: service %s version %q: %v", exchange.ErrConfig, p.id, ver, err)
			}
			f.dst[ver], *f.raw = s, raw
		}
		if files.request != nil || files.response != nil {
			p.schemaFiles[ver] = files.sum()
		}
		if !sc.ValidateResponses {
			delete(p.responses, ver)
		}
	}
	return nil
}

// checkResponse validates a backend's answer against the version's
// response schema (validate_responses), before it is signed: an answer
// over exchange.MaxWholeBody cannot be checked and is refused too.
func checkResponse(p *provided, ver string, body *spool.Spool) error {
	s := p.responses[ver]
	if s == nil {
		return nil
	}
	if body.Len() > exchange.MaxWholeBody {
		return fmt.Errorf("%w: a response of %d bytes, over %d, cannot be checked against its schema", exchange.ErrTooLarge, body.Len(), exchange.MaxWholeBody)
	}
	raw, err := body.ReadAll()
	if err != nil {
		return fmt.Errorf("%w: %v", exchange.ErrSpool, err)
	}
	return s.ValidateResponse(raw)
}
