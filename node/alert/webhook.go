package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// queueLen caps the alerts waiting for the webhook.
const queueLen = 256

// webhook POSTs alerts in the background, one at a time.
type webhook struct {
	url     string
	timeout time.Duration
	retries int
	client  *http.Client
	queue   chan Alert
	log     *slog.Logger
	backoff time.Duration // the first wait between attempts

	dropped prometheus.Counter
	failed  prometheus.Counter
}

func newWebhook(ctx context.Context, cfg Config, log *slog.Logger) *webhook {
	w := &webhook{url: cfg.Webhook, timeout: time.Duration(cfg.WebhookTimeout), retries: cfg.WebhookRetries,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		queue:  make(chan Alert, queueLen), log: log, backoff: time.Second,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "dxl_alert_webhook_dropped_total",
			Help: "Abnormal-access alerts not sent to the webhook because its queue was full."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "dxl_alert_webhook_failures_total",
			Help: "Abnormal-access alerts the webhook did not accept after every retry."}),
	}
	go w.run(ctx)
	return w
}

// send queues a; a full queue drops it (counted): the data path never
// waits for the webhook.
func (w *webhook) send(a Alert) {
	select {
	case w.queue <- a:
	default:
		w.dropped.Inc()
	}
}

func (w *webhook) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-w.queue:
			if err := w.deliver(ctx, a); err != nil {
				w.failed.Inc()
				w.log.Warn("alert webhook failed", "kind", a.Kind, "key", a.Key, "error", err)
			}
		}
	}
}

// deliver POSTs a, retrying a failure (no answer, or not 2xx) with
// exponential backoff.
func (w *webhook) deliver(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	wait := w.backoff
	for attempt := 0; ; attempt++ {
		err = w.post(ctx, body)
		if err == nil || attempt >= w.retries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (w *webhook) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
	return nil
}
