package node

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/provider"
	"github.com/dxl-network/dxl/services"
)

// ServiceSpec is one version of a service this node provides, as
// `dxl node service add` adds it to node.json.
type ServiceSpec struct {
	// Subsystem is the providing subsystem, of this node's member.
	Subsystem string
	// Code and Version name the service ("" Version: unversioned).
	Code, Version string
	// BackendURL is the agency's own http(s) endpoint of the version.
	BackendURL string
	// OpenAPIFile is an optional OpenAPI 3 description (a path as given,
	// read relative to the working directory, kept as an absolute path).
	OpenAPIFile string
	// Timeout bounds a backend call (0: the default).
	Timeout time.Duration
	// Grants are subjects (subsystem IDs, global:CODE, local:CODE) given
	// every endpoint of the version.
	Grants []string
	// Schemas are the version's data-type schemas (files as given, kept
	// as absolute paths); nil: none.
	Schemas *provider.SchemaConfig
}

// ServiceAdded is what AddService did.
type ServiceAdded struct {
	Service           string   `json:"service"` // SUBSYSTEM/CODE[/VERSION]
	BackendURL        string   `json:"backend_url"`
	Grants            []string `json:"grants,omitempty"`
	DescriptionSHA256 string   `json:"description_sha256,omitempty"` // of the OpenAPI file, as published
}

// AddService adds s to dir's node.json: the version to its service (a new
// service, or a new version of one), and an access rule per grant. The
// whole configuration is checked before it is written; on any error
// node.json is unchanged. A running node loads it at its next start.
func AddService(dir string, s ServiceSpec) (*ServiceAdded, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	sub, err := services.ParseSubsystemID(s.Subsystem)
	if err != nil {
		return nil, fmt.Errorf("%w: --subsystem: %v", ErrConfig, err)
	}
	if sub.Member.String() != cfg.Member {
		return nil, fmt.Errorf("%w: %s is not a subsystem of this node's member %s", ErrConfig, s.Subsystem, cfg.Member)
	}
	v := services.Version{Version: s.Version, Lifecycle: ident.ServicePublished, BackendURL: s.BackendURL, Timeout: services.Duration(s.Timeout)}
	svc := serviceOf(cfg, s.Subsystem, s.Code)
	if s.OpenAPIFile != "" {
		abs, err := filepath.Abs(s.OpenAPIFile)
		if err == nil {
			v.OpenAPI, err = os.ReadFile(abs)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: --openapi: %v", ErrConfig, err)
		}
		if svc.OpenAPIFiles == nil {
			svc.OpenAPIFiles = map[string]string{}
		}
		svc.OpenAPIFiles[s.Version] = abs
	}
	if err := addSchemas(svc, s.Version, s.Schemas); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(svc.Versions, func(o services.Version) bool { return o.Version == s.Version }) {
		return nil, fmt.Errorf("%w: %s/%s already has version %q in node.json", ErrConfig, s.Subsystem, s.Code, s.Version)
	}
	svc.Versions = append(svc.Versions, v)
	id := s.Subsystem + "/" + s.Code
	if s.Version != "" {
		id += "/" + s.Version
	}
	for _, g := range s.Grants {
		cfg.Access.Rules = append(cfg.Access.Rules, services.Rule{Subject: g, Service: id})
	}
	if err := SaveConfig(dir, cfg); err != nil {
		return nil, err
	}
	added := &ServiceAdded{Service: id, BackendURL: s.BackendURL, Grants: s.Grants}
	if i := slices.IndexFunc(svc.Versions, func(o services.Version) bool { return o.Version == s.Version }); i >= 0 {
		added.DescriptionSHA256 = svc.Versions[i].OpenAPISHA256
	}
	return added, nil
}

// serviceOf returns cfg's service code of subsystem, added when missing.
func serviceOf(cfg *Config, subsystem, code string) *ServiceConfig {
	for i := range cfg.Services {
		if cfg.Services[i].Subsystem == subsystem && cfg.Services[i].Code == code {
			return &cfg.Services[i]
		}
	}
	cfg.Services = append(cfg.Services, ServiceConfig{Subsystem: subsystem, Description: services.Description{Code: code}})
	return &cfg.Services[len(cfg.Services)-1]
}

// addSchemas names sc's files, as absolute paths, as the schemas of
// version of svc, once each reads and compiles (an XSD is checked to be
// an XML Schema document: the node's validator runs it at start).
func addSchemas(svc *ServiceConfig, version string, sc *provider.SchemaConfig) error {
	if sc == nil {
		return nil
	}
	c := *sc
	if c.ValidateResponses && c.Response == "" {
		return fmt.Errorf("%w: --validate-responses needs --response-schema", ErrConfig)
	}
	for _, f := range []*string{&c.Request, &c.Response} {
		if *f == "" {
			continue
		}
		abs, err := filepath.Abs(*f)
		var raw []byte
		if err == nil {
			raw, err = os.ReadFile(abs)
		}
		if err == nil && c.Type == services.SchemaXSD {
			err = services.CheckXSDDocument(abs, raw)
		} else if err == nil {
			_, err = services.CompileSchema(abs, c.Type, raw)
		}
		if err != nil {
			return fmt.Errorf("%w: schema %s: %v", ErrConfig, *f, err)
		}
		*f = abs
	}
	if svc.Schemas == nil {
		svc.Schemas = map[string]provider.SchemaConfig{}
	}
	svc.Schemas[version] = c
	return nil
}
