package node

import (
	"context"
	"time"

	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/provider"
)

// stampLagFactor: health is degraded once the oldest record awaiting a
// timestamp is older than this many stamp intervals (capped at the
// message log's acceptable failure, when the node refuses exchanges).
const stampLagFactor = 3

// Health is the level-1 (system) health report: the admin socket and
// authenticated callers of /health get all of it, anyone else its Public
// summary.
type Health struct {
	// Status is ok, degraded (the configuration is past its maximum age,
	// or records have waited for a timestamp longer than
	// Timestamps.MaxLag) or down (no configuration).
	Status        string          `json:"status"`
	Member        string          `json:"member"`
	PeerID        string          `json:"peer_id"`
	ConfigVersion uint64          `json:"config_version"`
	ConfigAge     string          `json:"config_age,omitempty"`
	ConfigError   string          `json:"config_error,omitempty"`
	Timestamps    TimestampHealth `json:"timestamps"`
	// ExpiringClientCerts are the pinned client certificates that expire
	// within PinWarning (ExpiringPins).
	ExpiringClientCerts []PinExpiry `json:"expiring_client_certs,omitempty"`
	PeersOnline         int         `json:"peers_online"`
	Peers               []PeerState `json:"peers"`
}

// TimestampHealth is the message log's batch time-stamping: how many
// records wait and for how long.
type TimestampHealth struct {
	Pending         uint64    `json:"pending"`
	OldestUnstamped time.Time `json:"oldest_unstamped,omitzero"`
	Lag             string    `json:"lag,omitempty"` // age of the oldest unstamped record
	MaxLag          string    `json:"max_lag"`       // over it, the node is degraded
	LastStamp       time.Time `json:"last_stamp,omitzero"`
	LastTSAError    string    `json:"last_tsa_error,omitempty"`
}

// PublicHealth is what /health answers a caller that did not
// authenticate: no peers, no errors, nothing about the network.
type PublicHealth struct {
	Status        string `json:"status"`
	Member        string `json:"member"`
	ConfigVersion uint64 `json:"config_version"`
}

// Public is the report's unauthenticated summary.
func (h Health) Public() any {
	return PublicHealth{Status: h.Status, Member: h.Member, ConfigVersion: h.ConfigVersion}
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
	h.ExpiringClientCerts = n.ExpiringPins()
	var late bool
	h.Timestamps, late = n.timestampHealth()
	if late && h.Status == "ok" {
		h.Status = "degraded"
	}
	return h
}

// timestampHealth reports the message log's stamping; late: the oldest
// record has waited longer than the maximum lag.
func (n *Node) timestampHealth() (_ TimestampHealth, late bool) {
	maxLag := n.maxStampLag()
	th := TimestampHealth{MaxLag: maxLag.String()}
	if n.msglog == nil {
		return th, false
	}
	st := n.msglog.Stats()
	th.Pending, th.OldestUnstamped, th.LastStamp, th.LastTSAError = st.Pending, st.OldestUnstamped, st.LastStamp, st.LastTSAError
	if st.OldestUnstamped.IsZero() {
		return th, false
	}
	lag := n.now().Sub(st.OldestUnstamped)
	th.Lag = lag.Round(time.Millisecond).String()
	return th, lag > maxLag
}

// maxStampLag is stampLagFactor stamp intervals (node.json's
// message_log.stamp_interval, else the signed policy's, else a minute),
// at most message_log.acceptable_failure.
func (n *Node) maxStampLag() time.Duration {
	interval := msglog.DefaultStampInterval
	if doc, _, _ := n.conf.Current(); doc != nil && doc.Policy.TimestampInterval > 0 {
		interval = time.Duration(doc.Policy.TimestampInterval)
	}
	if n.cfg.MessageLog.StampInterval > 0 {
		interval = time.Duration(n.cfg.MessageLog.StampInterval)
	}
	acceptable := msglog.DefaultAcceptableFailure
	if n.cfg.MessageLog.AcceptableFailure > 0 {
		acceptable = time.Duration(n.cfg.MessageLog.AcceptableFailure)
	}
	return min(stampLagFactor*interval, acceptable)
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
