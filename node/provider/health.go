package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/node/transport"
)

// ServiceHealth is the level-2 report for one provided service: its
// backend answered the health path, per version.
type ServiceHealth struct {
	Service  string          `json:"service"`
	Status   string          `json:"status"` // ok or down
	Versions []VersionHealth `json:"versions"`
}

// VersionHealth is one version's backend check.
type VersionHealth struct {
	Version    string `json:"version,omitempty"`
	Lifecycle  string `json:"lifecycle"`
	Status     string `json:"status"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Error      string `json:"error,omitempty"`
	LatencyMS  int64  `json:"latency_ms"`
}

// CheckService calls the backend of every version of a provided service
// (level 2). id is PROVIDER/SERVICE, without version.
func (pr *Provider) CheckService(ctx context.Context, id string) (ServiceHealth, error) {
	p := pr.provided[id]
	if p == nil {
		return ServiceHealth{}, fmt.Errorf("%w: %s is not provided by this node", exchange.ErrUnknownService, id)
	}
	out := ServiceHealth{Service: id, Status: "ok"}
	path := p.cfg.HealthPath
	if path == "" {
		path = "/"
	}
	for _, ver := range p.cfg.Versions {
		vh := VersionHealth{Version: ver.Version, Lifecycle: string(ver.Lifecycle), Status: "ok"}
		if ver.Lifecycle == ident.ServiceRetired {
			vh.Status = "retired"
			out.Versions = append(out.Versions, vh)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, min(ver.EffectiveTimeout(), 10*time.Second))
		start := time.Now()
		req, _ := http.NewRequestWithContext(cctx, http.MethodGet, strings.TrimSuffix(ver.BackendURL, "/")+path, nil)
		resp, err := p.client.Do(req)
		vh.LatencyMS = time.Since(start).Milliseconds()
		cancel()
		switch {
		case err != nil:
			vh.Status, vh.Error = "down", transport.ShortErr(err)
		case resp.StatusCode >= 500:
			vh.Status, vh.HTTPStatus = "down", resp.StatusCode
		default:
			vh.HTTPStatus = resp.StatusCode
		}
		if resp != nil {
			resp.Body.Close()
		}
		if vh.Status == "down" {
			out.Status = "down"
		}
		out.Versions = append(out.Versions, vh)
	}
	return out, nil
}

// HealthLoop checks the provided services' backends into the health
// history (level 2, R-L4).
func (pr *Provider) HealthLoop(ctx context.Context) {
	if len(pr.provided) == 0 {
		return
	}
	t := time.NewTicker(pr.cfg.HealthInterval)
	defer t.Stop()
	for {
		for _, p := range pr.sortedProvided() {
			sh, err := pr.CheckService(ctx, p.id.String())
			if err != nil {
				continue
			}
			for _, v := range sh.Versions {
				id := p.id
				id.Version = v.Version
				pr.cfg.Health.AddHealth(oprec.HealthSample{Time: pr.cfg.Now(), Service: id.String(), Status: v.Status,
					HTTPStatus: v.HTTPStatus, LatencyMS: v.LatencyMS, Error: v.Error})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
