package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsEveryRequest(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(body) != "hello" || r.Header.Get("X-Test") != "1" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		w.Write([]byte("0123456789"))
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{Request: Request{Method: "post", URL: srv.URL, Body: []byte("hello"),
		Header: http.Header{"X-Test": {"1"}}}, Concurrency: 4, Requests: 50, Warmup: 8})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 50 || res.OK != 50 || res.Errors != 0 || len(res.ErrorsBy) != 0 || got.Load() != 58 {
		t.Fatalf("result %+v, server saw %d", res, got.Load())
	}
	if res.BytesIn != 500 || res.ReqPerSec <= 0 || res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Fatalf("figures %+v", res)
	}
}

// TestRunCountsErrorsByCode: errors are counted by status and DXL error
// code, from the header or (X-DXL-Error: true) the JSON body; a target
// that does not answer is a transport error.
func TestRunCountsErrorsByCode(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 0:
			w.Header().Set(HeaderError, "rate_limited")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 1:
			w.Header().Set(HeaderError, "true")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"code":"invalid_token","message":"access token missing or not valid"}`))
		case 2:
			http.Error(w, "backend down", http.StatusBadGateway)
		default:
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{Request: Request{URL: srv.URL}, Concurrency: 1, Requests: 40})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"429 rate_limited": 10, "401 invalid_token": 10, "502": 10}
	if res.Requests != 40 || res.OK != 10 || res.Errors != 30 || len(res.ErrorsBy) != 3 {
		t.Fatalf("result %+v", res)
	}
	for k, v := range want {
		if res.ErrorsBy[k] != v {
			t.Errorf("%s: %d, want %d (%v)", k, res.ErrorsBy[k], v, res.ErrorsBy)
		}
	}
	if res.ErrorSamples["429 rate_limited"] != "429 Too Many Requests" {
		t.Errorf("samples %v", res.ErrorSamples)
	}

	srv.Close()
	res, err = Run(context.Background(), Config{Request: Request{URL: srv.URL}, Concurrency: 2, Requests: 6})
	if err != nil || res.ErrorsBy[KindTransport] != 6 || res.OK != 0 || !strings.Contains(res.ErrorSamples[KindTransport], "refused") {
		t.Fatalf("closed target: %v %+v", err, res)
	}
}

// TestRunAtRateForDuration: at a fixed rate for a duration, about
// rate×duration requests are sent, whatever the concurrency.
func TestRunAtRateForDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var reports atomic.Int64
	res, err := Run(context.Background(), Config{Request: Request{URL: srv.URL}, Concurrency: 8, Duration: 1500 * time.Millisecond, Rate: 100,
		Progress: func(p Progress) {
			if p.Done > 0 && p.Elapsed > 0 {
				reports.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	// 150 slots; the last ones may be cut by the deadline.
	if res.Requests < 140 || res.Requests > 150 || res.Errors != 0 {
		t.Fatalf("sent %d at 100/s for 1.5 s: %+v", res.Requests, res)
	}
	if reports.Load() < 1 {
		t.Fatal("no progress report")
	}
}

func TestRunStopsWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, Config{Request: Request{URL: srv.URL}, Duration: time.Hour, Rate: 50})
	if !errors.Is(err, context.DeadlineExceeded) || res == nil || res.Errors != 0 || res.Requests == 0 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Requests: 1},
		{Request: Request{URL: "http://x"}},
		{Request: Request{URL: "http://x"}, Requests: 1, Duration: time.Second},
		{Request: Request{URL: "http://x"}, Requests: -1},
		{Request: Request{URL: "http://x"}, Requests: 1, Rate: -1},
		{Request: Request{URL: "http://x", Method: "GE T"}, Requests: 1},
	} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

func TestLatencyJSONInMicroseconds(t *testing.T) {
	l := Latency{P50: 1500 * time.Microsecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond, Max: time.Second, Mean: 1600 * time.Microsecond}
	raw, err := json.Marshal(l)
	if err != nil || !strings.Contains(string(raw), `"p50":1500`) || !strings.Contains(string(raw), `"max":1000000`) {
		t.Fatalf("%s %v", raw, err)
	}
	var back Latency
	if err := json.Unmarshal(raw, &back); err != nil || back != l {
		t.Fatalf("%+v %v", back, err)
	}
}
