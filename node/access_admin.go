package node

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// Admin socket routes for access rights and the provided services (see
// adminHandler for the rest):
//
//	GET    /v1/access                 → {"local_groups":{…},"rules":[…]} (node.json "access" in use)
//	POST   /v1/access                 {"subject","service","method","path"} → grant one rule
//	DELETE /v1/access?subject=&service=&method=&path=  → revoke that rule
//	GET    /v1/services               → the services this node provides, with versions and lifecycle
//
// A grant or revoke is checked by compiling the whole new access
// configuration, written to node.json (atomically), installed in the
// running node's policy gate for the calls that follow, and recorded in
// the admin audit log ("access.grant", "access.revoke") with the actor.
func (n *Node) adminAccessRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/access", func(w http.ResponseWriter, r *http.Request) {
		n.accessMu.Lock()
		a := n.cfg.Access
		n.accessMu.Unlock()
		if a.Rules == nil {
			a.Rules = []services.Rule{}
		}
		exchange.WriteJSON(w, http.StatusOK, a)
	})
	m.HandleFunc("POST /v1/access", func(w http.ResponseWriter, r *http.Request) {
		var rule services.Rule
		if err := jsonin.Decode(io.LimitReader(r.Body, 8<<10), &rule); err != nil {
			accessFail(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
			return
		}
		n.changeAccess(w, r, "access.grant", rule, true)
	})
	m.HandleFunc("DELETE /v1/access", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		rule := services.Rule{Subject: q.Get("subject"), Service: q.Get("service"), Method: q.Get("method"), Path: q.Get("path")}
		n.changeAccess(w, r, "access.revoke", rule, false)
	})
	m.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) {
		out := []ProvidedService{}
		for _, s := range n.cfg.Services {
			ps := ProvidedService{Subsystem: s.Subsystem, Code: s.Code}
			for _, v := range s.Versions {
				ps.Versions = append(ps.Versions, ProvidedVersion{Version: v.Version, Lifecycle: string(v.Lifecycle),
					DeprecatedAt: v.DeprecatedAt, Sunset: v.Sunset})
			}
			out = append(out, ps)
		}
		exchange.WriteJSON(w, http.StatusOK, out)
	})
}

// normalRule trims a rule's fields and upper-cases its method, so that a
// revoke finds the rule its grant wrote.
func normalRule(r services.Rule) services.Rule {
	r.Subject, r.Service = strings.TrimSpace(r.Subject), strings.TrimSpace(r.Service)
	r.Method, r.Path = strings.ToUpper(strings.TrimSpace(r.Method)), strings.TrimSpace(r.Path)
	return r
}

// changeAccess grants (add) or revokes one rule: the new configuration is
// compiled, saved, installed and audited, or nothing changes.
func (n *Node) changeAccess(w http.ResponseWriter, r *http.Request, action string, rule services.Rule, add bool) {
	rule = normalRule(rule)
	if rule.Subject == "" || rule.Service == "" {
		accessFail(w, fmt.Errorf("%w: subject and service are required", services.ErrInvalidRule))
		return
	}
	n.accessMu.Lock()
	defer n.accessMu.Unlock()
	next := n.cfg.Access
	next.Rules = slices.Clone(next.Rules)
	i := slices.Index(next.Rules, rule)
	switch {
	case add && i >= 0:
		accessFail(w, fmt.Errorf("%w: %s → %s %s %s", ErrAccessExists, rule.Subject, rule.Service, rule.Method, rule.Path))
		return
	case !add && i < 0:
		accessFail(w, fmt.Errorf("%w: %s → %s %s %s", ErrAccessNotFound, rule.Subject, rule.Service, rule.Method, rule.Path))
		return
	case add:
		next.Rules = append(next.Rules, rule)
	default:
		next.Rules = slices.Delete(next.Rules, i, i+1)
	}
	if _, err := services.NewACL(next, nil); err != nil { // the whole configuration must compile
		accessFail(w, err)
		return
	}
	if err := n.saveOnDisk(func(c *Config) { c.Access = next }); err != nil {
		n.log.Error("access right not saved", "action", action, "error", err)
		accessFail(w, err)
		return
	}
	if err := n.prov.SetAccess(next); err != nil { // compiled above: cannot fail but for a bug
		n.log.Error("access right saved but not installed", "action", action, "error", err)
		accessFail(w, err)
		return
	}
	n.cfg.Access = next
	n.auditAction(r, action, rule.Subject, strings.TrimSpace(fmt.Sprintf("%s %s %s", rule.Service, rule.Method, rule.Path)))
	n.log.Info("access right changed", "action", action, "subject", rule.Subject, "service", rule.Service, "actor", actorOf(r))
	exchange.WriteJSON(w, http.StatusOK, next)
}

// saveOnDisk applies set to node.json as it is on disk now (so an edit
// made there since the node started is kept) and replaces the file
// atomically.
func (n *Node) saveOnDisk(set func(*Config)) error {
	disk, err := LoadConfig(n.dir)
	if err != nil {
		return err
	}
	set(disk)
	return SaveConfig(n.dir, disk)
}

func accessFail(w http.ResponseWriter, err error) {
	status, code := exchange.Status(err), exchange.Codes.Code(err)
	if errors.Is(err, services.ErrInvalidRule) {
		status, code = http.StatusBadRequest, "invalid_rule"
	}
	exchange.WriteJSON(w, status, ErrorBody{Code: code, Message: err.Error()})
}

// ProvidedService is a service of GET /v1/services.
type ProvidedService struct {
	Subsystem string            `json:"subsystem"`
	Code      string            `json:"code"`
	Versions  []ProvidedVersion `json:"versions"`
}

// ProvidedVersion is one version of a ProvidedService and its lifecycle.
type ProvidedVersion struct {
	Version      string    `json:"version,omitempty"`
	Lifecycle    string    `json:"lifecycle"`
	DeprecatedAt time.Time `json:"deprecated_at,omitzero"`
	Sunset       time.Time `json:"sunset,omitzero"`
}
