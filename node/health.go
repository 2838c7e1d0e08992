package node

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

// Health is the level-1 (system) health report.
type Health struct {
	Status        string      `json:"status"` // ok, degraded (configuration expired) or down (none)
	Member        string      `json:"member"`
	PeerID        string      `json:"peer_id"`
	ConfigVersion uint64      `json:"config_version"`
	ConfigAge     string      `json:"config_age,omitempty"`
	ConfigError   string      `json:"config_error,omitempty"`
	PeersOnline   int         `json:"peers_online"`
	Peers         []PeerState `json:"peers"`
}

// Health reports the node's own state (level 1).
func (n *Node) Health() Health {
	h := Health{Status: "ok", Member: n.member.String(), PeerID: n.host.ID().String(), Peers: n.Peers()}
	if h.Peers == nil {
		h.Peers = []PeerState{}
	}
	doc, age, err := n.conf.Current()
	switch {
	case doc == nil:
		h.Status = "down"
	case err != nil:
		h.Status = "degraded"
	}
	if err != nil {
		h.ConfigError = err.Error()
	}
	if doc != nil {
		h.ConfigVersion, h.ConfigAge = doc.Version, age.Round(time.Second).String()
	}
	for _, p := range h.Peers {
		if p.Online {
			h.PeersOnline++
		}
	}
	return h
}

func (n *Node) health(w http.ResponseWriter, _ *http.Request) {
	h := n.Health()
	status := http.StatusOK
	if h.Status == "down" {
		status = http.StatusServiceUnavailable
	}
	exchange.WriteJSON(w, status, h)
}

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
func (n *Node) CheckService(ctx context.Context, id string) (ServiceHealth, error) {
	p := n.provided[id]
	if p == nil {
		return ServiceHealth{}, fmt.Errorf("%w: %s is not provided by this node", ErrUnknownService, id)
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

func (n *Node) serviceHealth(w http.ResponseWriter, r *http.Request) {
	sh, err := n.CheckService(r.Context(), r.PathValue("id"))
	if err != nil {
		n.fail(w, "", err)
		return
	}
	status := http.StatusOK
	if sh.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	exchange.WriteJSON(w, status, sh)
}

// ClientList is the answer to listClients: the members and subsystems of
// the network, from the signed configuration.
type ClientList struct {
	Member []ClientEntry `json:"member"`
}

// ClientEntry is one member or subsystem.
type ClientEntry struct {
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	ObjectType    string `json:"object_type"` // MEMBER or SUBSYSTEM
	XRoadInstance string `json:"xroad_instance"`
	MemberClass   string `json:"member_class"`
	MemberCode    string `json:"member_code"`
	SubsystemCode string `json:"subsystem_code,omitempty"`
}

func (n *Node) listClients(w http.ResponseWriter, _ *http.Request) {
	v := n.view()
	if v == nil {
		n.fail(w, "", ErrNoConfig)
		return
	}
	out := ClientList{Member: []ClientEntry{}}
	for _, m := range v.Doc().Members {
		if m.Status != "active" {
			continue
		}
		mid, err := ident.ParseMember(m.ID, "")
		if err != nil {
			continue
		}
		out.Member = append(out.Member, ClientEntry{ID: m.ID, Name: m.Name, ObjectType: "MEMBER",
			XRoadInstance: mid.Instance, MemberClass: mid.Class, MemberCode: mid.Code})
	}
	for _, s := range v.Doc().Subsystems {
		sid, err := services.ParseSubsystemID(s.ID)
		if err != nil || s.Status != "active" || !v.MemberActive(sid.Member.String()) {
			continue
		}
		out.Member = append(out.Member, ClientEntry{ID: s.ID, ObjectType: "SUBSYSTEM", XRoadInstance: sid.Member.Instance,
			MemberClass: sid.Member.Class, MemberCode: sid.Member.Code, SubsystemCode: sid.Subsystem})
	}
	exchange.WriteJSON(w, http.StatusOK, out)
}
