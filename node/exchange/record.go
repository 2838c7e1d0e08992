package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
)

// MessageLog is what the data path needs of the message log (msglog.Log).
type MessageLog interface {
	Append(msglog.Record, *msglog.Bodies) error
	Check() error
	// Flush waits until everything appended before it is committed;
	// Durable until every append without bodies before it is in the
	// node's journal (as safe as its mode promises).
	Flush(context.Context) error
	Durable(context.Context) error
}

// CallRecords is what the data path needs of the operational records
// (oprec.Store).
type CallRecords interface {
	Add(oprec.Record)
	// Flush waits until everything added before it is committed; Durable
	// until it is in the node's journal.
	Flush(context.Context) error
	Durable(context.Context) error
}

// NoLogs is both, keeping nothing (node.WithoutLogs).
type NoLogs struct{}

func (NoLogs) Append(msglog.Record, *msglog.Bodies) error { return nil }
func (NoLogs) Check() error                               { return nil }
func (NoLogs) Add(oprec.Record)                           {}
func (NoLogs) Flush(context.Context) error                { return nil }
func (NoLogs) Durable(context.Context) error              { return nil }

// Exchange is what one call leaves in the logs, on either side.
type Exchange struct {
	RequestID    string // when no envelope was signed
	Start        time.Time
	Role         string
	CallerIP     string
	Client       string
	Service      string
	Req          *envelope.SignedRequest
	Resp         *envelope.SignedResponse
	Status       int
	Code         string
	ReqBody      []byte
	RespBody     []byte
	RespBytes    int64
	ConsumerPeer string
	ProviderPeer string
}

// MaxWholeBody caps a body a node must hold whole: one the message log
// archives (bodies are kept in the log's database), and a request to a
// version that validates requests against its OpenAPI description. A call
// to such a service may send at most this much, and its provider may
// answer an archived service with at most this much. Other bodies stream,
// up to the node's max_body.
const MaxWholeBody = 64 << 20

// ArchivedBody is the body to archive for a request to an archived
// service: ErrTooLarge over MaxWholeBody.
func ArchivedBody(b *spool.Spool) ([]byte, error) {
	if b.Len() > MaxWholeBody {
		return nil, fmt.Errorf("%w: the bodies of this service are archived, at most %d bytes", ErrTooLarge, MaxWholeBody)
	}
	return b.ReadAll()
}

// Logs is where calls are recorded, shared by both sides.
type Logs struct {
	Log     MessageLog
	Records CallRecords
	Archive map[string]bool // services whose bodies are archived
	Now     func() time.Time
	Logger  *slog.Logger
	// PeerClock, if set, hears the other node's clock as the exchange's
	// envelope showed it: our clock when it arrived minus its signing
	// time (the network's delay included).
	PeerClock func(peer string, skew time.Duration)
}

// Record writes the exchange to the operational records and, when an
// envelope was signed, to the message log. Neither waits for disk.
func (l *Logs) Record(x *Exchange) {
	l.RecordCall(x)
	l.notePeerClock(x)
	if x.Req == nil {
		return
	}
	// The log's status is the signed one: none without a response envelope
	// (the refusal's code says why).
	r := msglog.Record{Role: x.Role, RequestID: x.Req.RequestID.String(), Client: x.Req.Client, Service: x.Req.Service,
		ConsumerPeer: x.ConsumerPeer, ProviderPeer: x.ProviderPeer, Request: x.Req.Raw, ErrorCode: x.Code}
	if x.Resp != nil {
		r.Response, r.Status = x.Resp.Raw, int(x.Resp.Status)
	}
	var bodies *msglog.Bodies
	if l.Archived(x.Req.Service) {
		bodies = &msglog.Bodies{Request: x.ReqBody, Response: x.RespBody}
	}
	if err := l.Log.Append(r, bodies); err != nil {
		l.Logger.Error("message log append failed", "request_id", r.RequestID, "error", err)
	}
}

// notePeerClock tells PeerClock the other node's signing time: the
// provider's response at the consumer, the consumer's request at the
// provider (which arrived at Start).
func (l *Logs) notePeerClock(x *Exchange) {
	switch {
	case l.PeerClock == nil:
	case x.Role == oprec.RoleConsumer && x.Resp != nil && x.ProviderPeer != "":
		l.PeerClock(x.ProviderPeer, l.Now().Sub(x.Resp.Time))
	case x.Role == oprec.RoleProvider && x.Req != nil && x.ConsumerPeer != "":
		l.PeerClock(x.ConsumerPeer, x.Start.Sub(x.Req.Time))
	}
}

// RecordCall writes the exchange to the operational records only.
func (l *Logs) RecordCall(x *Exchange) {
	reqBytes := int64(len(x.ReqBody))
	if x.Req != nil {
		reqBytes = int64(x.Req.BodyLength)
		if x.Client == "" {
			x.Client, x.Service = x.Req.Client, x.Req.Service
		}
	}
	respBytes := x.RespBytes
	if x.Resp != nil {
		respBytes = int64(x.Resp.BodyLength)
	}
	l.Records.Add(oprec.Record{
		RequestID: requestIDOf(x), Start: x.Start, Duration: l.Now().Sub(x.Start), Role: x.Role,
		Client: x.Client, Service: x.Service, CallerIP: x.CallerIP, Status: x.Status, ErrorCode: x.Code,
		RequestBytes: reqBytes, ResponseBytes: respBytes, ConsumerPeer: x.ConsumerPeer, ProviderPeer: x.ProviderPeer,
	})
}

// Commit records x and waits until both logs hold it durably: a node
// sends its answer to a call only after Commit, so a crash (kill -9)
// never loses the record of a call that was answered. Both logs write
// through the node's journal, so Commit waits for one journal sync that
// concurrent Commits share (internal/wal); an exchange whose bodies are
// archived waits for the message log's own commit (its bodies stay out
// of the journal).
func (l *Logs) Commit(ctx context.Context, x *Exchange) {
	l.Record(x)
	var logErr error
	switch {
	case x.Req != nil && l.Archived(x.Req.Service):
		logErr = l.Log.Flush(ctx)
	case x.Req != nil:
		logErr = l.Log.Durable(ctx)
	}
	err := l.Records.Durable(ctx)
	if err = errors.Join(logErr, err); err != nil {
		l.Logger.Error("call records not on disk before the answer", "request_id", requestIDOf(x), "error", err)
	}
}

// Check refuses new exchanges during a long TSA outage (msglog.Check).
func (l *Logs) Check() error {
	return l.Log.Check()
}

func requestIDOf(x *Exchange) string {
	if x.Req != nil {
		return x.Req.RequestID.String()
	}
	return x.RequestID
}

// Archived reports whether bodies of service (any version) are archived.
func (l *Logs) Archived(service string) bool {
	if len(l.Archive) == 0 {
		return false
	}
	if l.Archive[service] {
		return true
	}
	if i := strings.LastIndexByte(service, '/'); i > 0 && l.Archive[service[:i]] {
		return true
	}
	return false
}
