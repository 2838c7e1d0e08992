package node

import (
	"context"
	"time"

	"github.com/dxl-network/dxl/node/provider"
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

// ServiceHealth is the level-2 report for one provided service.
type ServiceHealth = provider.ServiceHealth

// VersionHealth is one version's backend check.
type VersionHealth = provider.VersionHealth

// MethodList is the answer to listMethods and allowedMethods.
type MethodList = provider.MethodList

// ServiceMethods is one service of the provider subsystem with its endpoints.
type ServiceMethods = provider.ServiceMethods

// CheckService calls the backend of every version of a provided service
// (level 2). id is PROVIDER/SERVICE, without version.
func (n *Node) CheckService(ctx context.Context, id string) (ServiceHealth, error) {
	return n.prov.CheckService(ctx, id)
}
