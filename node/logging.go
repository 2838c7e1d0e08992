package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/dxl-network/dxl/internal/audit"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/tsa"
)

// ErrTimestampOutage: every TSA has been unreachable for longer than the
// acceptable-failure period and the node refuses new exchanges.
var ErrTimestampOutage = msglog.ErrTimestampOutage

// openLogs opens the message log, the operational records and the admin
// audit log (DESIGN.md §6). With noLog, calls are left out of the first
// two (WithoutLogs).
func (n *Node) openLogs(passphrase []byte, noLog bool) error {
	var key []byte
	if len(n.cfg.MessageLog.ArchiveBodies) > 0 {
		var err error
		if key, err = archiveKey(n.dir, passphrase); err != nil {
			return err
		}
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
		StampInterval:     interval,
		TSAs:              n.tsas,
		AcceptableFailure: time.Duration(n.cfg.MessageLog.AcceptableFailure),
		FailOpen:          n.cfg.MessageLog.FailOpen,
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
		Now:             n.now,
		Logger:          n.log,
	}); err != nil {
		return fmt.Errorf("%w: operational records: %v", ErrConfig, err)
	}
	if n.audit, err = audit.Open(n.db, "admin_audit", n.now); err != nil {
		return err
	}
	n.callLog, n.callRecs = ml, n.records
	if noLog {
		n.callLog, n.callRecs = noLogs{}, noLogs{}
	}
	n.archive = map[string]bool{}
	for _, s := range n.cfg.MessageLog.ArchiveBodies {
		n.archive[s] = true
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

// messageLog is what the data path needs of the message log (msglog.Log).
type messageLog interface {
	Append(msglog.Record, *msglog.Bodies) error
	Check() error
}

// callRecords is what the data path needs of the operational records
// (oprec.Store).
type callRecords interface {
	Add(oprec.Record)
}

// noLogs is both, keeping nothing (WithoutLogs).
type noLogs struct{}

func (noLogs) Append(msglog.Record, *msglog.Bodies) error { return nil }
func (noLogs) Check() error                               { return nil }
func (noLogs) Add(oprec.Record)                           {}

// exchange is what one call leaves in the logs, on either side.
type exchange struct {
	requestID    string // when no envelope was signed
	start        time.Time
	role         string
	callerIP     string
	client       string
	service      string
	req          *envelope.SignedRequest
	resp         *envelope.SignedResponse
	status       int
	code         string
	reqBody      []byte
	respBody     []byte
	respBytes    int64
	consumerPeer string
	providerPeer string
}

// record writes the exchange to the operational records and, when an
// envelope was signed, to the message log. Neither waits for disk.
func (n *Node) record(x *exchange) {
	reqBytes := int64(len(x.reqBody))
	if x.req != nil {
		reqBytes = int64(x.req.BodyLength)
		if x.client == "" {
			x.client, x.service = x.req.Client, x.req.Service
		}
	}
	respBytes := x.respBytes
	if x.resp != nil {
		respBytes = int64(x.resp.BodyLength)
	}
	n.callRecs.Add(oprec.Record{
		RequestID: requestIDOf(x), Start: x.start, Duration: n.now().Sub(x.start), Role: x.role,
		Client: x.client, Service: x.service, CallerIP: x.callerIP, Status: x.status, ErrorCode: x.code,
		RequestBytes: reqBytes, ResponseBytes: respBytes, ConsumerPeer: x.consumerPeer, ProviderPeer: x.providerPeer,
	})
	if x.req == nil {
		return
	}
	// The log's status is the signed one: none without a response envelope
	// (the refusal's code says why).
	r := msglog.Record{Role: x.role, RequestID: x.req.RequestID.String(), Client: x.req.Client, Service: x.req.Service,
		ConsumerPeer: x.consumerPeer, ProviderPeer: x.providerPeer, Request: x.req.Raw, ErrorCode: x.code}
	if x.resp != nil {
		r.Response, r.Status = x.resp.Raw, int(x.resp.Status)
	}
	var bodies *msglog.Bodies
	if n.archived(x.req.Service) {
		bodies = &msglog.Bodies{Request: x.reqBody, Response: x.respBody}
	}
	if err := n.callLog.Append(r, bodies); err != nil {
		n.log.Error("message log append failed", "request_id", r.RequestID, "error", err)
	}
}

// checkLog refuses new exchanges during a long TSA outage (msglog.Check).
func (n *Node) checkLog() error {
	return n.callLog.Check()
}

func requestIDOf(x *exchange) string {
	if x.req != nil {
		return x.req.RequestID.String()
	}
	return x.requestID
}

// archived reports whether bodies of service (any version) are archived.
func (n *Node) archived(service string) bool {
	if len(n.archive) == 0 {
		return false
	}
	if n.archive[service] {
		return true
	}
	if i := strings.LastIndexByte(service, '/'); i > 0 && n.archive[service[:i]] {
		return true
	}
	return false
}

// remoteIP is the IP of a stream's remote end, for the provider's records.
func remoteIP(s network.Stream) string {
	if a, err := manet.ToNetAddr(s.Conn().RemoteMultiaddr()); err == nil {
		if ta, ok := a.(*net.TCPAddr); ok {
			return ta.IP.String()
		}
	}
	return ""
}

// healthLoop checks the provided services' backends into the health
// history (level 2, R-L4).
func (n *Node) healthLoop(ctx context.Context) {
	if len(n.provided) == 0 {
		return
	}
	t := time.NewTicker(time.Duration(n.cfg.Records.HealthInterval))
	defer t.Stop()
	for {
		for _, p := range n.sortedProvided() {
			sh, err := n.CheckService(ctx, p.id.String())
			if err != nil {
				continue
			}
			for _, v := range sh.Versions {
				id := p.id
				id.Version = v.Version
				n.records.AddHealth(oprec.HealthSample{Time: n.now(), Service: id.String(), Status: v.Status,
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

// metricsServer is the Prometheus metrics endpoint on cfg.MetricsListen.
// It is built before its goroutine starts, so Close always sees it.
func (n *Node) metricsServer() *http.Server {
	m := http.NewServeMux()
	m.Handle("GET /metrics", n.records.Metrics())
	return &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
}

// serveMetrics serves n.metrics on ln until Close.
func (n *Node) serveMetrics(ln net.Listener) {
	if err := n.metrics.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		n.log.Error("metrics endpoint stopped", "error", err)
	}
}
