package delivery

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
)

// Headers of the delivery endpoints.
const (
	HeaderDocumentID = "X-DXL-Document-ID"
	HeaderSender     = "X-DXL-Sender"
	HeaderSHA256     = "X-DXL-Document-SHA256"
	HeaderTitle      = "X-DXL-Title"     // percent-encoded UTF-8
	HeaderDataType   = "X-DXL-Data-Type" // percent-encoded UTF-8
	HeaderError      = "X-DXL-Error"
)

// handler routes the endpoints (docs/delivery.md).
func (s *Service) handler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("POST /dxl/documents", s.authed(s.submit))
	m.HandleFunc("GET /dxl/documents/{id}", s.authed(s.status))
	m.HandleFunc("DELETE /dxl/documents/{id}", s.authed(s.cancel))
	m.HandleFunc("GET /dxl/inbox", s.authed(s.list))
	m.HandleFunc("GET /dxl/inbox/{id}", s.authed(s.fetch))
	m.HandleFunc("GET /dxl/inbox/{id}/meta", s.authed(s.inMeta))
	m.HandleFunc("POST /dxl/inbox/{id}/ack", s.authed(s.ack))
	m.HandleFunc("GET /dxl/events", s.authed(s.serveEvents))
	m.HandleFunc("/dxl/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, fmt.Errorf("%w: %s %s is no delivery endpoint (docs/delivery.md)", exchange.ErrMethod, r.Method, r.URL.Path))
	})
	return m
}

type authedFunc func(w http.ResponseWriter, r *http.Request, sub string)

// authed lets through the information systems of this node's member.
func (s *Service) authed(h authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, err := s.cfg.Auth.Authenticate(r)
		if err == nil && who.Member != s.cfg.Member {
			err = fmt.Errorf("%w: %s is not a subsystem of this node's member", exchange.ErrClientMismatch, who)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		h(w, r, who.String())
	}
}

// writeError answers err in the exchange error shape, its code from Codes.
func writeError(w http.ResponseWriter, err error) {
	code, status := Codes.Code(err), Codes.Status(err)
	if status == http.StatusInternalServerError && exchange.Codes.Code(err) != "internal" {
		status = exchange.Status(err)
	}
	msg := err.Error()
	if status >= 500 {
		msg = code
	}
	w.Header().Set(HeaderError, code)
	w.Header().Set("Content-Type", exchange.ContentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(exchange.ErrorBody{Code: code, Message: msg})
}

func writeOK(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", exchange.ContentJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// submit serves POST /dxl/documents: metadata in the query, content as
// the body, streamed to an encrypted file.
func (s *Service) submit(w http.ResponseWriter, r *http.Request, sub string) {
	now := s.cfg.Now()
	m, err := s.submission(r, sub, now)
	if err == nil && r.ContentLength > s.cfg.MaxSize {
		err = fmt.Errorf("%w: %d bytes (max %d)", ErrTooLarge, r.ContentLength, s.cfg.MaxSize)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	tmp := s.store.tmpPath(m.ID + "-" + rand.Text())
	doc, err := s.spoolSubmission(w, r, m, tmp, now)
	if err == nil {
		err = s.fault(FaultSubmitSpooled)
	}
	if err != nil {
		_ = os.Remove(tmp)
		writeError(w, err)
		return
	}
	stored, existing, err := s.store.AddOut(doc, tmp)
	if err == nil {
		err = s.fault(FaultSubmitStored)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	status := http.StatusAccepted
	if existing {
		status = http.StatusOK
	} else {
		s.log.Info("document accepted", "document_id", m.ID, "sender", sub, "recipients", len(m.Recipients), "size", m.Size)
		s.metrics.count("sender", string(Queued), len(m.Recipients))
		s.logSubmitted(stored)
		s.Wake()
	}
	w.Header().Set(HeaderDocumentID, stored.Meta.ID)
	writeOK(w, status, stored)
}

// submission checks the request's metadata against the configuration.
func (s *Service) submission(r *http.Request, sub string, now time.Time) (*Meta, error) {
	sm, err := ParseSubmission(r.URL.Query(), r.Header.Get(HeaderDocumentID), now)
	if err != nil {
		return nil, err
	}
	id := envelope.NewRequestID().String()
	if sm.ID != "" {
		rid, err := envelope.ParseRequestID(sm.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: document ID %.64q is not a UUID version 4", ErrBadMeta, sm.ID)
		}
		id = rid.String()
	}
	v, err := s.cfg.Views.Current()
	if err != nil {
		return nil, err
	}
	recipients, err := resolveRecipients(v, sm.Recipients)
	if err != nil {
		return nil, err
	}
	m := &Meta{ID: id, Sender: sub, Recipients: recipients, Title: sm.Title, DataType: sm.DataType, Format: sm.Format,
		Priority: sm.Priority, Created: now.UTC(), Expires: sm.Expires, SHA256: strings.Repeat("0", 64)}
	if m.Format == "" {
		m.Format = r.Header.Get("Content-Type")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	for _, rc := range m.Recipients {
		if err := checkRecipient(v, rc, m.DataType); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// spoolSubmission writes the body to tmp, encrypted, and signs the
// metadata with its size and hash.
func (s *Service) spoolSubmission(w http.ResponseWriter, r *http.Request, m *Meta, tmp string, now time.Time) (*OutDoc, error) {
	cw, err := createContent(tmp, s.store.key)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	rc := http.NewResponseController(w)
	body := &deadlineReader{r: io.LimitReader(r.Body, s.cfg.MaxSize+1), rc: rc, idle: s.cfg.Idle, now: s.cfg.Now}
	n, err := io.CopyBuffer(io.MultiWriter(cw, h), body, make([]byte, ChunkSize))
	if err == nil && n > s.cfg.MaxSize {
		err = fmt.Errorf("%w: over %d bytes", ErrTooLarge, s.cfg.MaxSize)
	}
	if err != nil {
		cw.Abort()
		if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrStorage) {
			err = fmt.Errorf("%w: reading the content: %v", exchange.ErrBadRequest, err)
		}
		return nil, err
	}
	if err := cw.Finish(); err != nil {
		return nil, err
	}
	m.Size, m.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sig, cert, err := s.cfg.Signer.SignDetached(DocumentPrefix, raw)
	if err != nil {
		return nil, err
	}
	d := &OutDoc{Meta: *m, Signed: Signed{Body: raw, Cert: cert, Sig: sig}, Updated: now}
	for _, rc := range m.Recipients {
		d.Recipients = append(d.Recipients, &Recipient{ID: rc, State: Queued, NextTry: now})
	}
	return d, nil
}

// deadlineReader moves the request's read deadline on with every read,
// so a large upload is bounded by idleness, not by the API's timeout.
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
	now  func() time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(d.now().Add(d.idle))
	_ = d.rc.SetWriteDeadline(d.now().Add(2 * d.idle))
	return d.r.Read(p)
}

// outDoc returns an outbox document of sub.
func (s *Service) outDoc(r *http.Request, sub string) (*OutDoc, error) {
	d, err := s.store.Out(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if d.Meta.Sender != sub {
		return nil, fmt.Errorf("%w: %s was sent by another information system", ErrNotYours, d.Meta.ID)
	}
	return d, nil
}

// status serves GET /dxl/documents/{id}: the document and each
// recipient's state and signed receipt.
func (s *Service) status(w http.ResponseWriter, r *http.Request, sub string) {
	d, err := s.outDoc(r, sub)
	if err != nil {
		writeError(w, err)
		return
	}
	writeOK(w, http.StatusOK, d)
}

// cancel serves DELETE /dxl/documents/{id}[?recipient=ID].
func (s *Service) cancel(w http.ResponseWriter, r *http.Request, sub string) {
	if _, err := s.outDoc(r, sub); err != nil {
		writeError(w, err)
		return
	}
	recipient := r.URL.Query().Get("recipient")
	d, err := s.store.UpdateOut(r.PathValue("id"), func(d *OutDoc) error {
		d.Updated = s.cfg.Now()
		return cancel(d, recipient)
	})
	if err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("delivery cancelled", "document_id", d.Meta.ID, "recipient", recipient)
	s.metrics.count("sender", string(Cancelled), 1)
	writeOK(w, http.StatusOK, d)
}

// Item is an inbox entry as an information system sees it.
type Item struct {
	Meta
	State    InState   `json:"state"`
	Received time.Time `json:"received,omitzero"`
	Acked    time.Time `json:"acknowledged,omitzero"`
	Receipt  *Signed   `json:"receipt,omitempty"`
}

func itemOf(d *InDoc) Item {
	return Item{Meta: d.Meta, State: d.State, Received: d.Received, Acked: d.Acked, Receipt: d.Receipt}
}

// list serves GET /dxl/inbox[?state=waiting|acknowledged|all].
func (s *Service) list(w http.ResponseWriter, r *http.Request, sub string) {
	st := InState(r.URL.Query().Get("state"))
	switch st {
	case "":
		st = Waiting
	case "all":
		st = ""
	case Waiting, Acked, InExpired:
	default:
		writeError(w, fmt.Errorf("%w: state %.32q (waiting, acknowledged, expired, all)", exchange.ErrBadRequest, st))
		return
	}
	docs, err := s.store.Inbox(sub, st)
	if err != nil {
		writeError(w, err)
		return
	}
	items := []Item{}
	for _, d := range docs {
		if d.State != Receiving {
			items = append(items, itemOf(d))
		}
	}
	writeOK(w, http.StatusOK, items)
}

// inDoc returns sub's inbox document, not while it is arriving.
func (s *Service) inDoc(r *http.Request, sub string) (*InDoc, error) {
	d, err := s.store.In(sub, r.PathValue("id"))
	if err == nil && d.State == Receiving {
		err = fmt.Errorf("%w: %s", ErrNotFound, d.Meta.ID)
	}
	return d, err
}

// inMeta serves GET /dxl/inbox/{id}/meta.
func (s *Service) inMeta(w http.ResponseWriter, r *http.Request, sub string) {
	d, err := s.inDoc(r, sub)
	if err != nil {
		writeError(w, err)
		return
	}
	writeOK(w, http.StatusOK, itemOf(d))
}

// fetch serves GET /dxl/inbox/{id}: the content, streamed, with ranges.
func (s *Service) fetch(w http.ResponseWriter, r *http.Request, sub string) {
	d, err := s.inDoc(r, sub)
	if err == nil && d.State != Waiting {
		err = fmt.Errorf("%w: %s is %s and its content deleted", ErrState, d.Meta.ID, d.State)
	}
	var cr *contentReader
	if err == nil {
		cr, err = openContent(s.store.inPath(sub, d.Meta.ID), s.store.key)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	defer cr.Close()
	h := w.Header()
	h.Set(HeaderDocumentID, d.Meta.ID)
	h.Set(HeaderSender, d.Meta.Sender)
	h.Set(HeaderSHA256, d.Meta.SHA256)
	h.Set(HeaderTitle, url.PathEscape(d.Meta.Title))
	h.Set(HeaderDataType, url.PathEscape(d.Meta.DataType))
	h.Set("Content-Type", "application/octet-stream")
	if d.Meta.Format != "" {
		h.Set("Content-Type", d.Meta.Format)
	}
	h.Set("ETag", `"`+d.Meta.SHA256+`"`)
	iw := &idleWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: s.cfg.Idle, now: s.cfg.Now}
	http.ServeContent(iw, r, "", d.Received, cr)
}

// idleWriter moves the write deadline on with every write.
type idleWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
	now  func() time.Time
}

func (w *idleWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(w.now().Add(w.idle))
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReceiptView is a signed receipt with its decoded body.
type ReceiptView struct {
	Receipt *Receipt `json:"receipt"`
	Signed  *Signed  `json:"signed"`
}

// ack serves POST /dxl/inbox/{id}/ack: the signed receipt.
func (s *Service) ack(w http.ResponseWriter, r *http.Request, sub string) {
	d, err := s.Acknowledge(sub, r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	rc, err := DecodeReceipt(d.Receipt.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	writeOK(w, http.StatusOK, ReceiptView{Receipt: rc, Signed: d.Receipt})
}
