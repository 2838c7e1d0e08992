package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrInvalidConfig: a Config that Validate refuses.
var ErrInvalidConfig = errors.New("loadgen: invalid configuration")

// Request is what every worker sends.
type Request struct {
	Method string // default GET
	URL    string
	Header http.Header
	Body   []byte
}

// Config configures Run.
type Config struct {
	Request Request
	// Client sends the requests (default: one keeping Concurrency idle
	// connections to the target, over HTTP/1.1).
	Client *http.Client
	// Concurrency is the number of workers, each with at most one request
	// in flight (default 1).
	Concurrency int
	// Requests is the number of measured requests; with Duration instead,
	// workers send until it has passed. Exactly one of them is set.
	Requests int
	Duration time.Duration
	// Rate, if positive, is the total requests a second the workers send
	// at (each request is due at its slot); zero sends as fast as the
	// target answers.
	Rate float64
	// Warmup requests are sent before measuring (opening connections,
	// filling caches) and left out of the result.
	Warmup int
	// Progress, if set, is called about once a second while measuring.
	Progress func(Progress)
}

// Progress is a report of a run under way.
type Progress struct {
	Elapsed time.Duration
	Done    int64   // requests answered or failed so far
	Errors  int64   // of which errors
	Rate    float64 // requests a second since the previous report
}

// Validate checks c. Errors wrap ErrInvalidConfig.
func (c *Config) Validate() error {
	switch {
	case c.Request.URL == "":
		return fmt.Errorf("%w: no URL", ErrInvalidConfig)
	case c.Concurrency < 0:
		return fmt.Errorf("%w: negative concurrency %d", ErrInvalidConfig, c.Concurrency)
	case c.Requests < 0 || c.Duration < 0 || c.Rate < 0 || c.Warmup < 0:
		return fmt.Errorf("%w: negative request count, duration, rate or warm-up", ErrInvalidConfig)
	case (c.Requests == 0) == (c.Duration == 0):
		return fmt.Errorf("%w: give either a request count or a duration", ErrInvalidConfig)
	}
	if _, err := http.NewRequest(c.method(), c.Request.URL, nil); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	return nil
}

func (c *Config) method() string {
	if c.Request.Method == "" {
		return http.MethodGet
	}
	return strings.ToUpper(c.Request.Method)
}

// NewClient is the default client of a run with concurrency workers: one
// idle keep-alive connection per worker, HTTP/1.1 (as curl and most
// information systems call), proxies from the environment ignored.
func NewClient(concurrency int, transport *http.Transport) *http.Client {
	if transport == nil {
		transport = &http.Transport{}
	}
	transport.MaxIdleConns = max(concurrency, 2) * 2
	transport.MaxIdleConnsPerHost = max(concurrency, 2) * 2
	transport.Proxy = nil
	return &http.Client{Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Run sends the warm-up requests, then the measured ones, and returns the
// measured figures. When ctx ends first it returns what was measured until
// then with ctx's error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.Concurrency, nil)
	}
	if cfg.Warmup > 0 {
		warm := cfg
		warm.Requests, warm.Duration, warm.Rate, warm.Progress = cfg.Warmup, 0, 0, nil
		newRun(&warm).measure(ctx)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return newRun(&cfg).measure(ctx), ctx.Err()
}

// run is one measured phase.
type run struct {
	cfg      *Config
	method   string
	next     atomic.Int64 // index of the next request to take
	done     atomic.Int64
	errs     atomic.Int64
	start    time.Time
	deadline time.Time     // zero with a request count
	interval time.Duration // between due times at Rate, or 0
}

func newRun(cfg *Config) *run {
	r := &run{cfg: cfg, method: cfg.method()}
	if cfg.Rate > 0 {
		r.interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	return r
}

func (r *run) measure(ctx context.Context) *Result {
	r.start = time.Now()
	if r.cfg.Duration > 0 {
		r.deadline = r.start.Add(r.cfg.Duration)
	}
	stopProgress := r.reportProgress()
	s := newStats()
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx, s)
		}()
	}
	wg.Wait()
	elapsed := time.Since(r.start)
	stopProgress()
	return s.result(elapsed)
}

// take claims the next request and waits until it is due; ok is false
// once the run is over.
func (r *run) take(ctx context.Context) (due time.Time, ok bool) {
	k := r.next.Add(1) - 1
	if r.cfg.Requests > 0 && k >= int64(r.cfg.Requests) {
		return time.Time{}, false
	}
	due = time.Now()
	if r.interval > 0 {
		due = r.start.Add(time.Duration(k) * r.interval)
	}
	if !r.deadline.IsZero() && !due.Before(r.deadline) {
		return time.Time{}, false
	}
	if wait := time.Until(due); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return time.Time{}, false
		case <-t.C:
		}
	}
	return due, ctx.Err() == nil
}

func (r *run) work(ctx context.Context, s *stats) {
	for {
		due, ok := r.take(ctx)
		if !ok {
			return
		}
		a := r.send(ctx)
		if ctx.Err() != nil {
			return // cut short, not an error of the target
		}
		if s.add(a, time.Since(due)) {
			r.errs.Add(1)
		}
		r.done.Add(1)
	}
}

// send sends one request and reads its answer whole.
func (r *run) send(ctx context.Context) answer {
	req, err := http.NewRequestWithContext(ctx, r.method, r.cfg.Request.URL, bytes.NewReader(r.cfg.Request.Body))
	if err != nil {
		return answer{err: err}
	}
	for k, v := range r.cfg.Request.Header {
		req.Header[k] = v
	}
	if len(r.cfg.Request.Body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	return readAnswer(resp)
}

// reportProgress calls cfg.Progress once a second until the returned
// function is called.
func (r *run) reportProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastAt := int64(0), r.start
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				done := r.done.Load()
				rate := float64(done-last) / now.Sub(lastAt).Seconds()
				r.cfg.Progress(Progress{Elapsed: now.Sub(r.start), Done: done, Errors: r.errs.Load(), Rate: rate})
				last, lastAt = done, now
			}
		}
	}()
	return func() { close(quit); <-finished }
}
