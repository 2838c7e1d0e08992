package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dxl-network/dxl/internal/audit"
	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/internal/siem"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/msglog"
	"github.com/dxl-network/dxl/node/oprec"
)

// Admin socket routes for the logs (see adminHandler for the rest):
//
//	GET  /v1/log/evidence?request_id=ID   evidence bundle (JSON, msglog.Bundle)
//	GET  /v1/log/evidence?document=ID&recipient=SUBSYSTEM   a delivery's (msglog.DeliveryBundle; recipient optional for one)
//	GET  /v1/log/body?request_id=ID       archived bodies (services in message_log.archive_bodies), decrypted
//	GET  /v1/log/stats                    message log state (pending, last stamp, TSA errors)
//	POST /v1/log/verify-chain             walk the hash chain → {"checked": N}
//	GET  /v1/records?from=&to=&role=&client=&service=&client_member=&provider_member=&status=&error_code=&limit=&cursor=&format=json|csv
//	GET  /v1/stats?from=&to=              calls made and served per member per day
//	GET  /v1/health/history?service=&from=&to=&limit=
//	POST /v1/reconcile                    {"member","from","to"} → Report
//	GET  /v1/audit                        the admin audit log, JSON lines
func (n *Node) adminLogRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /v1/log/evidence", n.adminEvidence)
	m.HandleFunc("GET /v1/log/body", n.adminBody)
	m.HandleFunc("GET /v1/log/stats", func(w http.ResponseWriter, r *http.Request) { exchange.WriteJSON(w, http.StatusOK, n.msglog.Stats()) })
	m.HandleFunc("POST /v1/log/verify-chain", func(w http.ResponseWriter, r *http.Request) {
		k, err := n.msglog.VerifyChain()
		if err != nil {
			adminFail(w, err)
			return
		}
		exchange.WriteJSON(w, http.StatusOK, map[string]int{"checked": k})
	})
	m.HandleFunc("GET /v1/records", n.adminRecords)
	m.HandleFunc("GET /v1/stats", n.adminStats)
	m.HandleFunc("GET /v1/report", n.adminReport)
	m.HandleFunc("GET /v1/health/history", n.adminHealthHistory)
	m.HandleFunc("POST /v1/reconcile", n.adminReconcile)
	m.HandleFunc("GET /v1/audit", n.adminAudit)
}

// adminEvidence exports the evidence bundle of a request, or of a
// document's delivery.
func (n *Node) adminEvidence(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("request_id")
	var b interface{ Marshal() ([]byte, error) }
	var err error
	if doc := q.Get("document"); doc != "" || q.Has("document") {
		if id != "" {
			adminFail(w, fmt.Errorf("%w: give request_id or document, not both", ErrBadRequest))
			return
		}
		id = doc
		b, err = n.DeliveryEvidence(r.Context(), doc, q.Get("recipient"))
	} else {
		b, err = n.Evidence(r.Context(), id)
	}
	if err != nil {
		adminFail(w, err)
		return
	}
	n.auditAction(r, "log.export", id, "")
	raw, err := b.Marshal()
	if err != nil {
		adminFail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(raw)
}

// adminBody returns the archived bodies of a request.
func (n *Node) adminBody(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("request_id")
	recs, err := n.msglog.Records(id)
	if err != nil {
		adminFail(w, err)
		return
	}
	for _, rec := range recs {
		if !rec.Archived {
			continue
		}
		b, err := n.msglog.Body(rec.Seq)
		if err != nil {
			adminFail(w, err)
			return
		}
		n.auditAction(r, "log.body", id, "")
		exchange.WriteJSON(w, http.StatusOK, b)
		return
	}
	adminFail(w, fmt.Errorf("%w: no archived body for request %q", msglog.ErrNotFound, id))
}

// adminRecords queries the operational records (JSON or CSV).
func (n *Node) adminRecords(w http.ResponseWriter, r *http.Request) {
	f, err := recordFilter(r.URL.Query())
	if err != nil {
		adminFail(w, err)
		return
	}
	_ = n.records.Flush(r.Context())
	recs, next, err := n.records.Query(f)
	if err != nil {
		adminFail(w, err)
		return
	}
	if next != "" {
		w.Header().Set("X-Next-Cursor", next)
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv")
		_ = oprec.WriteCSV(w, recs)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = oprec.WriteJSON(w, recs)
}

// adminStats returns call statistics for a period.
func (n *Node) adminStats(w http.ResponseWriter, r *http.Request) {
	from, to, err := period(r.URL.Query())
	if err != nil {
		adminFail(w, err)
		return
	}
	_ = n.records.Flush(r.Context())
	st, err := n.records.Stats(from, to)
	if err != nil {
		adminFail(w, err)
		return
	}
	exchange.WriteJSON(w, http.StatusOK, st)
}

// adminReport returns calls, successes, failures and their causes per
// day, role and service for a period (JSON or CSV).
func (n *Node) adminReport(w http.ResponseWriter, r *http.Request) {
	from, to, err := period(r.URL.Query())
	if err != nil {
		adminFail(w, err)
		return
	}
	_ = n.records.Flush(r.Context())
	rows, err := n.records.Report(from, to)
	if err != nil {
		adminFail(w, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv")
		_ = oprec.WriteReportCSV(w, rows)
		return
	}
	exchange.WriteJSON(w, http.StatusOK, rows)
}

// adminHealthHistory returns the health history of the provided services.
func (n *Node) adminHealthHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := period(q)
	if err != nil {
		adminFail(w, err)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	_ = n.records.Flush(r.Context())
	h, err := n.records.HealthHistory(q.Get("service"), from, to, limit)
	if err != nil {
		adminFail(w, err)
		return
	}
	exchange.WriteJSON(w, http.StatusOK, h)
}

// adminReconcile reconciles the calls with another member.
func (n *Node) adminReconcile(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Member string    `json:"member"`
		From   time.Time `json:"from"`
		To     time.Time `json:"to"`
	}
	if err := jsonin.DecodeOpen(io.LimitReader(r.Body, 4<<10), &b); err != nil {
		adminFail(w, fmt.Errorf("%w: %v", ErrBadRequest, err))
		return
	}
	n.auditAction(r, "reconcile", b.Member, b.From.Format(time.RFC3339)+" .. "+b.To.Format(time.RFC3339))
	rep, err := n.Reconcile(r.Context(), b.Member, b.From, b.To)
	if err != nil {
		adminFail(w, err)
		return
	}
	exchange.WriteJSON(w, http.StatusOK, rep)
}

// adminAudit exports the admin audit log.
func (n *Node) adminAudit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	_ = n.audit.Export(w)
}

// Evidence returns the evidence bundle of a request this node logged,
// time-stamping pending records first if needed.
func (n *Node) Evidence(ctx context.Context, requestID string) (*msglog.Bundle, error) {
	if requestID == "" {
		return nil, fmt.Errorf("%w: request_id is required", ErrBadRequest)
	}
	v := n.view()
	if v == nil {
		return nil, ErrNoConfig
	}
	return n.msglog.Evidence(ctx, requestID, v.Doc().CAChain) // flushes and stamps first
}

// DeliveryEvidence returns the evidence bundle of document's delivery
// to recipient ("" : its only recipient) as this node logged it,
// time-stamping pending records first if needed.
func (n *Node) DeliveryEvidence(ctx context.Context, document, recipient string) (*msglog.DeliveryBundle, error) {
	if document == "" {
		return nil, fmt.Errorf("%w: document is required", ErrBadRequest)
	}
	v := n.view()
	if v == nil {
		return nil, ErrNoConfig
	}
	b, err := n.msglog.DeliveryEvidence(ctx, document, recipient, v.Doc().CAChain)
	if errors.Is(err, msglog.ErrInvalid) {
		err = fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	return b, err
}

// MessageLog is the node's message log.
func (n *Node) MessageLog() *msglog.Log { return n.msglog }

// Records is the node's operational records store.
func (n *Node) Records() *oprec.Store { return n.records }

// Audit is the node's admin audit log.
func (n *Node) Audit() *audit.Log { return n.audit }

func adminFail(w http.ResponseWriter, err error) {
	status := exchange.Status(err)
	code := exchange.Codes.Code(err)
	if e, ok := oprec.Codes.Lookup(err); ok {
		code, status = e.Code, e.Status
	}
	exchange.WriteJSON(w, status, ErrorBody{Code: code, Message: err.Error()})
}

func period(q url.Values) (from, to time.Time, err error) {
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			if *p.t, err = ParseTime(s); err != nil {
				return from, to, fmt.Errorf("%w: %s: %v", ErrBadRequest, p.name, err)
			}
		}
	}
	return from, to, nil
}

// ParseTime takes RFC 3339 or a date (YYYY-MM-DD, UTC midnight), as the
// admin API's from/to do.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func recordFilter(q url.Values) (oprec.Filter, error) {
	from, to, err := period(q)
	if err != nil {
		return oprec.Filter{}, err
	}
	f := oprec.Filter{From: from, To: to, Role: q.Get("role"), Client: q.Get("client"), Service: q.Get("service"),
		ClientMember: q.Get("client_member"), ProviderMember: q.Get("provider_member"), ErrorCode: q.Get("error_code"),
		Cursor: q.Get("cursor")}
	for _, p := range []struct {
		name string
		v    *int
	}{{"status", &f.Status}, {"limit", &f.Limit}} {
		if s := q.Get(p.name); s != "" {
			if *p.v, err = strconv.Atoi(s); err != nil {
				return f, fmt.Errorf("%w: %s: %v", ErrBadRequest, p.name, err)
			}
		}
	}
	return f, f.Validate()
}

// auditAction records an admin action in the hash-chained audit log. The
// actor is the Unix user on the other end of the admin socket.
func (n *Node) auditAction(r *http.Request, action, target, detail string) {
	e, err := n.audit.Append(actorOf(r), action, target, detail)
	if err != nil {
		n.log.Error("admin audit log append failed", "action", action, "error", err)
		return
	}
	n.siem.Emit(siem.Event{Time: e.Time, Kind: "audit", Action: action, Actor: e.Actor, Target: target, Detail: detail,
		Source: n.member.String(), Severity: siem.Notice})
}

// tokenFailure is a refused token request, as a security event.
func (n *Node) tokenFailure(remote string, throttled bool) {
	ev := siem.Event{Kind: "security", Action: "token.failure", Target: remote, Source: n.member.String(), Severity: siem.Warning}
	if throttled {
		ev.Action, ev.Detail, ev.Severity = "token.throttled", "repeated failed client authentication", siem.Error
	}
	n.siem.Emit(ev)
}

type connKey struct{}

// adminConnContext remembers the admin socket's peer credentials.
func adminConnContext(ctx context.Context, c net.Conn) context.Context {
	if uc, ok := c.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			var cred *unix.Ucred
			_ = raw.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
			if cred != nil {
				return context.WithValue(ctx, connKey{}, fmt.Sprintf("uid:%d", cred.Uid))
			}
		}
	}
	return ctx
}

func actorOf(r *http.Request) string {
	if a, ok := r.Context().Value(connKey{}).(string); ok {
		return a
	}
	return "admin-socket"
}
