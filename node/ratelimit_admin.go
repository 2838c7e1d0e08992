package node

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// Admin socket routes for the per-client rate limits of the services
// this node provides (node.json rate_limits):
//
//	GET    /v1/rate-limits                          → {"defaults":{…},"overrides":[…]}
//	PUT    /v1/rate-limits/override                 {"client","service","reads_per_min","writes_per_min"} → set one override
//	DELETE /v1/rate-limits/override?client=&service= → remove it
//
// An override for the same client and service is replaced. The whole new
// configuration is compiled, written to node.json (atomically), installed
// in the running node (its budgets start full again) and recorded in the
// admin audit log ("rate_limit.set", "rate_limit.remove").
func (n *Node) adminRateLimitRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/rate-limits", func(w http.ResponseWriter, r *http.Request) {
		n.accessMu.Lock()
		rl := n.cfg.RateLimits
		n.accessMu.Unlock()
		if rl.Overrides == nil {
			rl.Overrides = []services.Override{}
		}
		exchange.WriteJSON(w, http.StatusOK, rl)
	})
	m.HandleFunc("PUT /v1/rate-limits/override", func(w http.ResponseWriter, r *http.Request) {
		var o services.Override
		if err := jsonin.Decode(io.LimitReader(r.Body, 8<<10), &o); err != nil {
			accessFail(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
			return
		}
		n.changeRateLimit(w, r, o, true)
	})
	m.HandleFunc("DELETE /v1/rate-limits/override", func(w http.ResponseWriter, r *http.Request) {
		n.changeRateLimit(w, r, services.Override{Client: r.URL.Query().Get("client"), Service: r.URL.Query().Get("service")}, false)
	})
}

// changeRateLimit sets (set) or removes one override: compiled, saved,
// installed and audited, or nothing changes.
func (n *Node) changeRateLimit(w http.ResponseWriter, r *http.Request, o services.Override, set bool) {
	o.Client, o.Service = strings.TrimSpace(o.Client), strings.TrimSpace(o.Service)
	n.accessMu.Lock()
	defer n.accessMu.Unlock()
	next := n.cfg.RateLimits
	next.Overrides = slices.Clone(next.Overrides)
	i := slices.IndexFunc(next.Overrides, func(x services.Override) bool { return x.Client == o.Client && x.Service == o.Service })
	action := "rate_limit.set"
	switch {
	case set && i >= 0:
		next.Overrides[i] = o
	case set:
		next.Overrides = append(next.Overrides, o)
	case i < 0:
		accessFail(w, fmt.Errorf("%w: client %q, service %q", ErrLimitNotFound, o.Client, o.Service))
		return
	default:
		next.Overrides, action = slices.Delete(next.Overrides, i, i+1), "rate_limit.remove"
	}
	if err := next.Validate(); err != nil {
		accessFail(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	if err := n.saveOnDisk(func(c *Config) { c.RateLimits = next }); err != nil {
		n.log.Error("rate limit not saved", "action", action, "error", err)
		accessFail(w, err)
		return
	}
	n.cfg.RateLimits = next
	if v := n.view(); v != nil {
		n.rebuildLimiter(v.Doc().Policy, next, true)
	}
	n.auditAction(r, action, o.Client, fmt.Sprintf("%s reads %d writes %d", o.Service, o.ReadsPerMin, o.WritesPerMin))
	exchange.WriteJSON(w, http.StatusOK, next)
}
