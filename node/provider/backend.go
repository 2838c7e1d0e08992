package provider

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dxl-network/dxl/internal/spool"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// answer is a backend's response as the provider signs it: its body
// spooled (hashed as it comes, on file past its first MiB); it must be
// closed.
type answer struct {
	body    *spool.Spool
	status  int
	ctype   string
	headers []envelope.Header
}

// callBackend sends the request to the version's backend, bounded by the
// version's timeout, and spools its whole answer (at most max_body, or
// exchange.MaxWholeBody when the service's bodies are archived). The
// information system's headers go first; the node's own (request ID,
// client, service, user, X-Road's) are set over them.
func (pr *Provider) callBackend(ctx context.Context, p *provided, ver *services.Version, req *envelope.SignedRequest, body *requestBody, archived bool) (*answer, error) {
	var reqBody io.Reader = http.NoBody
	if req.BodyLength > 0 {
		reqBody = body
	}
	ctx, cancel := context.WithTimeout(ctx, ver.EffectiveTimeout())
	defer cancel()
	url := strings.TrimSuffix(ver.BackendURL, "/") + req.Path
	if req.Path == "/" {
		url = ver.BackendURL // the service root: a SOAP endpoint, typically
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, url, reqBody)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", exchange.ErrBadRequest, err)
	}
	hreq.ContentLength = int64(req.BodyLength)
	setBackendHeaders(hreq.Header, req)
	resp, err := p.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %s", exchange.ErrBackendTimeout, req.Service)
		}
		return nil, fmt.Errorf("%w: %s: %v", exchange.ErrBackend, req.Service, err)
	}
	defer resp.Body.Close()
	hs, err := exchange.CarriedHeaders(resp.Header, false)
	if err != nil {
		return nil, fmt.Errorf("the backend's response: %w", err)
	}
	limit := pr.cfg.MaxBody
	if archived {
		limit = min(limit, exchange.MaxWholeBody)
	}
	out, err := spool.Fill(spool.Config{Dir: pr.cfg.SpoolDir, Limit: limit}, resp.Body)
	switch {
	case errors.Is(err, spool.ErrTooLarge):
		return nil, fmt.Errorf("%w: the backend's answer exceeds %d bytes", exchange.ErrTooLarge, limit)
	case errors.Is(err, spool.ErrStorage):
		return nil, fmt.Errorf("%w: the backend's answer: %v", exchange.ErrSpool, err)
	case err != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("%w: %s", exchange.ErrBackendTimeout, req.Service)
	case err != nil:
		return nil, fmt.Errorf("%w: reading the answer: %v", exchange.ErrBackend, err)
	}
	return &answer{body: out, status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), headers: hs}, nil
}

// setBackendHeaders sets a backend request's headers: the information
// system's, then the node's.
func setBackendHeaders(h http.Header, req *envelope.SignedRequest) {
	exchange.AddHeaders(h, req.Headers)
	if req.ContentType != "" {
		h.Set("Content-Type", req.ContentType)
	}
	h.Set("X-Request-ID", req.RequestID.String())
	h.Set("X-DXL-Client", req.Client)
	h.Set("X-DXL-Service", req.Service)
	// What an X-Road provider information system reads (X-Road Message
	// Protocol for REST 1.0.3 §4.4).
	sum := sha512.Sum512(req.Raw)
	h.Set("X-Road-Client", req.Client)
	h.Set("X-Road-Service", req.Service)
	h.Set("X-Road-Id", req.RequestID.String())
	h.Set("X-Road-Request-Hash", base64.StdEncoding.EncodeToString(sum[:]))
	if req.UserID != "" {
		h.Set("X-DXL-User-ID", req.UserID)
		h.Set("X-Road-UserId", req.UserID)
	}
}
