package delivery

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhooks: besides its event stream, an information system may have
// its events POSTed to a URL of its own (Config.Webhooks). The body is
// the event's JSON; X-DXL-Signature is the member's detached signature
// (base64) over WebhookPrefix || body and X-DXL-Signature-Cert the
// signer's certificate (base64 DER), so the receiver can check that its
// own node sent it. Failed calls are retried with the delivery backoff,
// up to webhookAttempts times. Like the stream, a webhook announces: the
// record is the inbox and the status (a node restarted meanwhile does
// not call again).

// WebhookPrefix is the signature prefix of webhook bodies.
const WebhookPrefix = "DXL-DELIVERY-WEBHOOK-v1\x00"

// Webhook headers.
const (
	HeaderSignature     = "X-DXL-Signature"
	HeaderSignatureCert = "X-DXL-Signature-Cert"
)

const (
	webhookAttempts = 10
	webhookQueue    = 1024
	webhookTimeout  = 10 * time.Second
)

type hookCall struct {
	url string
	ev  Event
}

// notify queues e for sub's webhook, if it has one (a full queue drops it).
func (s *Service) notify(sub string, e Event) {
	u, ok := s.cfg.Webhooks[sub]
	if !ok {
		return
	}
	select {
	case s.hooks <- hookCall{url: u, ev: e}:
	default:
		s.log.Warn("webhook queue full: event dropped", "subsystem", sub, "document_id", e.ID)
	}
}

// runWebhooks calls the webhooks until ctx ends.
func (s *Service) runWebhooks(ctx context.Context) {
	client := &http.Client{Timeout: webhookTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-s.hooks:
			s.callWebhook(ctx, client, c)
		}
	}
}

// callWebhook posts one event, retrying with backoff.
func (s *Service) callWebhook(ctx context.Context, client *http.Client, c hookCall) {
	body, _ := json.Marshal(c.ev)
	sig, cert, err := s.cfg.Signer.SignDetached(WebhookPrefix, body)
	if err != nil {
		s.log.Error("webhook not signed", "error", err)
		return
	}
	for n := 1; n <= webhookAttempts; n++ {
		err = postWebhook(ctx, client, c.url, body, sig, cert)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Info("webhook call failed", "document_id", c.ev.ID, "attempt", n, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.Policy.backoff(n)):
		}
	}
	s.log.Warn("webhook given up", "document_id", c.ev.ID, "event", c.ev.Type, "error", err)
}

func postWebhook(ctx context.Context, client *http.Client, u string, body, sig, cert []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	req.Header.Set(HeaderSignatureCert, base64.StdEncoding.EncodeToString(cert))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
