package consumer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/oprec"
	"github.com/dxl-network/dxl/services"
)

// forward runs the call and streams the verified answer back. The call's
// record is on disk before the information system has the whole answer:
// before a refusal or an empty body is written, and before the last bytes
// of a body (envelope.HoldLast). The record of an answer is committed
// while its body arrives (with the body, for an archived service); the
// provider node's end frame, which completes the body, comes only once
// that node's record is on disk too.
func (a *API) forward(w http.ResponseWriter, r *http.Request, c *Call, reqID, soapVersion string) {
	if err := a.checkServiceIP(r, c.Service); err != nil {
		a.refuse(w, r, reqID, soapVersion, err)
		return
	}
	x := &exchange.Exchange{RequestID: reqID, Start: a.cfg.Now(), Role: oprec.RoleConsumer, CallerIP: hostOf(r.RemoteAddr),
		Client: c.Client.String(), Service: c.Service.String(), ConsumerPeer: a.cfg.Self}
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.CallTimeout)
	defer cancel()
	archived := a.cfg.Logs.Archived(c.Service.String())
	err := a.cfg.Logs.Check()
	if err == nil {
		err = a.sealEarly(c) // a Secret body is archived, like sent, sealed
	}
	if err == nil && archived {
		x.ReqBody, err = exchange.ArchivedBody(c.Body)
	}
	var res *Result
	if err == nil {
		res, err = a.Do(ctx, c)
	}
	x.Req = c.sent
	if c.sentTo != "" {
		x.ProviderPeer = c.sentTo.String()
	}
	if err != nil {
		x.Status, x.Code = exchange.Status(err), exchange.ReportedCode(err)
		a.noteRefusal(x.Code, r, x.Client)
		a.cfg.Logs.Commit(r.Context(), x)
		provider := "provider " + c.Service.Provider.Member.String()
		if c.sentTo != "" {
			provider = "provider node " + c.sentTo.String()
		}
		a.answerError(w, soapVersion, reqID, provider, err)
		return
	}
	defer res.Body.Close()
	x.Resp, x.Status = res.Response, int(res.Response.Status)
	var body io.Reader = res.Body
	var tee *bytes.Buffer
	switch {
	case archived && res.Sealed != nil:
		tee = bytes.NewBuffer(res.Sealed) // archived as it travelled
	case archived && res.Response.BodyLength > exchange.MaxWholeBody:
		// The provider's node does not archive this service's bodies (it
		// would have refused the answer): the envelopes, hash included,
		// are logged; the body is not.
		a.cfg.Logger.Warn("answer body too large to archive", "request_id", reqID, "bytes", res.Response.BodyLength)
	case archived:
		tee = bytes.NewBuffer(make([]byte, 0, res.Response.BodyLength))
		body = io.TeeReader(res.Body, tee)
	}
	commit, failed := a.committer(r.Context(), x, tee)
	if res.Answer.BodyLength == 0 {
		// The end frame still says the provider node's record is on disk.
		if _, err := io.Copy(io.Discard, body); err != nil {
			failed(err)
			a.answerError(w, soapVersion, reqID, "provider node "+res.Provider.String(), fmt.Errorf("%w: %v", exchange.ErrUnreachable, err))
			return
		}
	}
	answerHeaders(w.Header(), c, res.Answer, res.Provider.String(), reqID)
	if res.Answer.BodyLength == 0 {
		commit()
		w.WriteHeader(int(res.Answer.Status))
		return
	}
	w.WriteHeader(int(res.Answer.Status))
	if _, err := io.Copy(w, envelope.HoldLast(body, commit)); err != nil {
		failed(err)
		// The answer failed its signed hash or the stream broke after the
		// headers went out: cut the connection so the client sees a
		// truncated answer, never a wrong one passed as whole.
		panic(http.ErrAbortHandler)
	}
}

// answerHeaders are the headers of resp, a verified answer from the
// provider node: the provider's, then the node's (with X-Signature where
// needsXSignature says).
func answerHeaders(h http.Header, c *Call, resp *envelope.SignedResponse, provider, reqID string) {
	exchange.AddHeaders(h, resp.Headers)
	xroadAnswerHeaders(h, c)
	if ct := resp.ContentType; ct != "" {
		h.Set("Content-Type", ct)
	}
	h.Set("Content-Length", strconv.FormatUint(resp.BodyLength, 10))
	h.Set(HeaderRequestID, reqID)
	h.Set(HeaderProvider, provider)
	lifecycleHeaders(h, c.view, c.Service)
	class := ""
	if c.view != nil {
		if s := c.view.Service(c.Service.String()); s != nil {
			class = string(s.Classification.OrDefault())
		}
	}
	if needsXSignature(c.Method, class) {
		setXSignature(h, resp)
	}
}

// answerError answers a failed call in the exchange-layer shape, or as a
// SOAP fault for a SOAP request; provider names who failed.
func (a *API) answerError(w http.ResponseWriter, soapVersion, reqID, provider string, err error) {
	if soapVersion != "" {
		a.soapFail(w, soapVersion, reqID, provider, err)
		return
	}
	a.failFrom(w, reqID, provider, err)
}

// committer returns how x is committed: commit, before the answer is
// complete, and failed, when its body fails its signed hash or its stream
// instead. Without an archived body the commit starts at once, while the
// body arrives, and a failure after it adds an operational record with
// the error code (reconciliation flags the exchange; the message log's
// record, the two envelopes, stands). An archived body is committed with
// the record once tee holds all of it, or the record alone with the
// failure's code.
func (a *API) committer(ctx context.Context, x *exchange.Exchange, tee *bytes.Buffer) (commit func(), failed func(error)) {
	warn := func(code string, err error) {
		a.cfg.Logger.Warn("response body refused", "request_id", x.RequestID, "error_code", code, "error", err)
	}
	if tee != nil {
		return func() {
				x.RespBody = tee.Bytes()
				a.cfg.Logs.Commit(ctx, x)
			}, func(err error) {
				x.Code = exchange.Codes.Code(err)
				a.cfg.Logs.Commit(ctx, x)
				warn(x.Code, err)
			}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.cfg.Logs.Commit(ctx, x)
	}()
	return func() { <-done }, func(err error) {
		<-done
		y := *x
		y.Code = exchange.Codes.Code(err)
		a.cfg.Logs.RecordCall(&y)
		warn(y.Code, err)
	}
}

// lifecycleHeaders sets Deprecation and Sunset from the catalogue.
func lifecycleHeaders(h http.Header, v *confview.View, sid services.ServiceID) {
	if v == nil {
		return
	}
	s := v.Service(sid.String())
	if s == nil || s.Lifecycle != ident.ServiceDeprecated {
		return
	}
	// RFC 9745 date form and RFC 8594 Sunset, as services.Version.SetHeaders.
	if s.DeprecatedAt != nil {
		h.Set("Deprecation", "@"+strconv.FormatInt(s.DeprecatedAt.Unix(), 10))
	}
	if s.Sunset != nil {
		h.Set("Sunset", s.Sunset.UTC().Format(http.TimeFormat))
	}
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
