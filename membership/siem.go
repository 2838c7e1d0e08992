package membership

import (
	"strconv"
	"sync"
	"time"

	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
)

// HistorySIEM follows the replicated history and emits each entry this
// server applies as an audit event (registry.json siem): admissions,
// rejections, suspensions, revocations, publications, policy and operator
// changes. Every server of a cluster emits the entries it applies, each
// with the history index in its detail, so a collector can de-duplicate;
// entries applied while the server was down are not sent again (the
// history itself is the record: dxl registry history --export).
type HistorySIEM struct {
	srv      *store.Server
	exp      *siem.Exporter
	source   string
	last     uint64
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// NewHistorySIEM starts following srv's history from its current end.
func NewHistorySIEM(srv *store.Server, exp *siem.Exporter, serverID string) *HistorySIEM {
	h := &HistorySIEM{srv: srv, exp: exp, source: serverID, stop: make(chan struct{}), done: make(chan struct{})}
	srv.Read(func(st *state.State) {
		if n := len(st.History); n > 0 {
			h.last = st.History[n-1].Index
		}
	})
	go func() {
		defer close(h.done)
		srv.Watch(10*time.Millisecond, h.stop, h.pass)
	}()
	return h
}

// pass emits the entries after the last one sent.
func (h *HistorySIEM) pass() time.Duration {
	var entries []state.HistoryEntry
	h.srv.Read(func(st *state.State) {
		for i := len(st.History) - 1; i >= 0 && st.History[i].Index > h.last; i-- {
			entries = append(entries, st.History[i])
		}
	})
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		h.exp.Emit(siem.Event{Time: e.Time, Kind: "audit", Action: e.Action, Actor: e.Actor, Target: e.Target,
			Detail: "index " + strconv.FormatUint(e.Index, 10) + ": " + e.Detail, Source: h.source, Severity: historySeverity(e.Action)})
		h.last = e.Index
	}
	return time.Minute
}

// historySeverity ranks an action: losing access is a warning.
func historySeverity(action string) siem.Severity {
	switch action {
	case "suspend_member", "revoke_member", "cancel_connection", "remove_operator", "reject_registration":
		return siem.Warning
	}
	return siem.Notice
}

// Close stops following and waits for a pass in progress.
func (h *HistorySIEM) Close() {
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.done
}

// startSIEM starts the exporter and the history's follower when
// registry.json has siem.
func (r *Registry) startSIEM() (err error) {
	if !r.file.SIEM.Enabled() {
		return nil
	}
	if r.siem, err = siem.New(r.file.SIEM, "dxl-registry", r.log); err != nil {
		return err
	}
	r.history = NewHistorySIEM(r.srv, r.siem, r.file.ID)
	return nil
}

// stopSIEM stops the follower and sends what is queued.
func (r *Registry) stopSIEM() {
	if r.history != nil {
		r.history.Close()
	}
	_ = r.siem.Close()
}

// securityEvent is a refusal of the admin API as a security event.
func (r *Registry) securityEvent(action, remote, detail string) {
	r.siem.Emit(siem.Event{Kind: "security", Action: action, Target: remote, Detail: detail, Source: r.file.ID, Severity: siem.Warning})
}
