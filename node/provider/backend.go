package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// callBackend sends the verified request to the version's backend, bounded
// by the version's timeout, and reads its whole answer.
func (pr *Provider) callBackend(ctx context.Context, p *provided, ver *services.Version, req *envelope.SignedRequest, buf []byte) (out []byte, status int, ctype string, err error) {
	var reqBody io.Reader = http.NoBody
	if len(buf) > 0 {
		reqBody = bytes.NewReader(buf)
	}
	ctx, cancel := context.WithTimeout(ctx, ver.EffectiveTimeout())
	defer cancel()
	url := strings.TrimSuffix(ver.BackendURL, "/") + req.Path
	if req.Path == "/" {
		url = ver.BackendURL // the service root: a SOAP endpoint, typically
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, url, reqBody)
	if err != nil {
		return nil, 0, "", fmt.Errorf("%w: %v", exchange.ErrBadRequest, err)
	}
	hreq.ContentLength = int64(req.BodyLength)
	h := hreq.Header
	if req.ContentType != "" {
		h.Set("Content-Type", req.ContentType)
	}
	h.Set("X-Request-ID", req.RequestID.String())
	h.Set("X-DXL-Client", req.Client)
	h.Set("X-Road-Client", req.Client)
	h.Set("X-DXL-Service", req.Service)
	if req.UserID != "" {
		h.Set("X-DXL-User-ID", req.UserID)
	}
	resp, err := p.client.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, "", fmt.Errorf("%w: %s", exchange.ErrBackendTimeout, req.Service)
		}
		return nil, 0, "", fmt.Errorf("%w: %s: %v", exchange.ErrBackend, req.Service, err)
	}
	defer resp.Body.Close()
	out, err = io.ReadAll(io.LimitReader(resp.Body, pr.cfg.MaxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, "", fmt.Errorf("%w: %s", exchange.ErrBackendTimeout, req.Service)
		}
		return nil, 0, "", fmt.Errorf("%w: reading the answer: %v", exchange.ErrBackend, err)
	}
	if int64(len(out)) > pr.cfg.MaxBody {
		return nil, 0, "", fmt.Errorf("%w: the backend's answer exceeds %d bytes", exchange.ErrTooLarge, pr.cfg.MaxBody)
	}
	return out, resp.StatusCode, resp.Header.Get("Content-Type"), nil
}
