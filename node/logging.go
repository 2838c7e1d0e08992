package node

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/dxl-network/dxl/internal/audit"
	"github.com/dxl-network/dxl/internal/httpserve"
	"github.com/dxl-network/dxl/internal/wal"
	"github.com/dxl-network/dxl/node/alert"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/tsa"
)

// The journal's streams: one per store that writes through it.
const (
	journalMessages byte = 1 + iota
	journalRecords
	journalReplay
)

// DirJournal is the node's journal (internal/wal) in its directory.
const DirJournal = "journal"

// openLogs opens the journal, the message log, the operational records
// and the admin audit log (DESIGN.md §6). With noLog, calls are left out
// of the message log and the records (WithoutLogs).
func (n *Node) openLogs(passphrase []byte, noLog bool) error {
	key, sealKey, err := logKeys(n.dir, passphrase)
	if err != nil {
		return err
	}
	mode, err := wal.ParseMode(n.cfg.Durability)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if n.journal, err = wal.Open(wal.Config{Dir: filepath.Join(n.dir, DirJournal), Mode: mode, Logger: n.log}); err != nil {
		return fmt.Errorf("%w: journal: %v", ErrConfig, err)
	}
	if len(n.cfg.MessageLog.ArchiveBodies) == 0 {
		key = nil
	}
	interval := time.Minute
	if doc, _, _ := n.conf.Current(); doc != nil && doc.Policy.TimestampInterval > 0 {
		interval = time.Duration(doc.Policy.TimestampInterval)
	}
	if n.cfg.MessageLog.StampInterval > 0 {
		interval = time.Duration(n.cfg.MessageLog.StampInterval)
	}
	ml, err := msglog.Open(msglog.Config{
		Path:              filepath.Join(n.dir, FileMessageLog),
		Retention:         time.Duration(n.cfg.MessageLog.Retention),
		ArchiveKey:        key,
		SealKey:           sealKey,
		StampInterval:     interval,
		TSAs:              n.tsas,
		AcceptableFailure: time.Duration(n.cfg.MessageLog.AcceptableFailure),
		FailOpen:          n.cfg.MessageLog.FailOpen,
		Journal:           n.journal.Stream(journalMessages),
		Now:               n.now,
		Logger:            n.log,
	})
	if err != nil {
		return fmt.Errorf("%w: message log: %v", ErrConfig, err)
	}
	n.msglog = ml
	if n.records, err = oprec.Open(oprec.Config{
		Path:            filepath.Join(n.dir, FileRecords),
		Retention:       time.Duration(n.cfg.Records.Retention),
		HealthRetention: time.Duration(n.cfg.Records.HealthRetention),
		Journal:         n.journal.Stream(journalRecords),
		Now:             n.now,
		Logger:          n.log,
		Collectors:      n.collectors(),
	}); err != nil {
		return fmt.Errorf("%w: operational records: %v", ErrConfig, err)
	}
	if n.audit, err = audit.Open(n.db, "admin_audit", n.now); err != nil {
		return err
	}
	n.clocks.now = n.now
	n.logs = &exchange.Logs{Log: ml, Records: watchedRecords{n.records, n.alerts}, Archive: map[string]bool{}, Now: n.now, Logger: n.log,
		PeerClock: n.clocks.note}
	if noLog {
		n.logs.Log, n.logs.Records = exchange.NoLogs{}, exchange.NoLogs{}
	}
	for _, s := range n.cfg.MessageLog.ArchiveBodies {
		n.logs.Archive[s] = true
	}
	return nil
}

func (n *Node) closeLogs() {
	if n.msglog != nil {
		_ = n.msglog.Close()
	}
	if n.records != nil {
		_ = n.records.Close()
	}
}

// tsas lists the configuration's TSAs for the message log.
func (n *Node) tsas() []msglog.TSA {
	v := n.view()
	if v == nil {
		return nil
	}
	out := make([]msglog.TSA, 0, len(v.Doc().TSAs))
	for _, t := range v.Doc().TSAs {
		out = append(out, msglog.TSA{Name: t.Name, URL: t.URL, Stamper: tsa.NewClient(t.URL)})
	}
	return out
}

// metricsServer is the Prometheus metrics endpoint on cfg.MetricsListen.
// It is built before its goroutine starts, so Close always sees it.
func (n *Node) metricsServer() *http.Server {
	m := http.NewServeMux()
	m.Handle("GET /metrics", n.records.Metrics())
	return httpserve.New(m, httpserve.Config{Name: "node_metrics", Logger: n.log})
}

// serveMetrics serves n.metrics on ln until Close.
func (n *Node) serveMetrics(ln net.Listener) {
	if err := n.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		n.log.Error("metrics endpoint stopped", "error", err)
	}
}

// watchedRecords are the operational records with each call also shown to
// the abnormal-access detector (its usual hours and volume: alerts.usual).
type watchedRecords struct {
	*oprec.Store
	alerts *alert.Detector
}

func (w watchedRecords) Add(r oprec.Record) {
	w.alerts.Call(r.Role, r.Client, r.Start)
	w.Store.Add(r)
}
