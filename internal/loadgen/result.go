package loadgen

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// HeaderError is the header in which a DXL node names the code of an error
// it answers (or "true", with the code in the JSON body).
const HeaderError = "X-DXL-Error"

// KindTransport is the error kind of a request that got no answer.
const KindTransport = "transport"

// maxErrorBody is how much of an error answer is read for its code.
const maxErrorBody = 64 << 10

// Result is what a run measured.
type Result struct {
	Requests int64 `json:"requests"` // measured requests that were sent
	OK       int64 `json:"ok"`       // answered with 2xx or 3xx
	Errors   int64 `json:"errors"`
	// ErrorsBy counts errors by kind: "STATUS CODE", "STATUS" or
	// "transport"; ErrorSamples holds the first message of each kind.
	ErrorsBy     map[string]int64  `json:"errors_by"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Elapsed      time.Duration     `json:"-"`
	ElapsedMS    float64           `json:"elapsed_ms"`
	ReqPerSec    float64           `json:"req_per_sec"`
	BytesIn      int64             `json:"bytes_in"` // answer bodies
	// Latency is of the OK requests.
	Latency Latency `json:"latency_us"`
}

// Latency is a latency distribution; it marshals to JSON in microseconds.
type Latency struct {
	P50, P90, P99, Max, Mean time.Duration
}

// MarshalJSON writes the figures in microseconds.
func (l Latency) MarshalJSON() ([]byte, error) {
	us := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)*10) / 10 }
	return json.Marshal(map[string]float64{"p50": us(l.P50), "p90": us(l.P90), "p99": us(l.P99), "max": us(l.Max), "mean": us(l.Mean)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (l *Latency) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	d := func(k string) time.Duration { return time.Duration(m[k] * float64(time.Microsecond)) }
	*l = Latency{P50: d("p50"), P90: d("p90"), P99: d("p99"), Max: d("max"), Mean: d("mean")}
	return nil
}

// answer is the outcome of one request.
type answer struct {
	status int
	code   string // the DXL error code, if any
	bytes  int64
	err    error // no answer
}

func readAnswer(resp *http.Response) answer {
	a := answer{status: resp.StatusCode}
	if resp.StatusCode < 400 {
		a.bytes, a.err = io.Copy(io.Discard, resp.Body)
		return a
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	rest, _ := io.Copy(io.Discard, resp.Body)
	a.bytes, a.err = int64(len(body))+rest, err
	a.code = resp.Header.Get(HeaderError)
	if a.code == "" || a.code == "true" {
		var doc struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(bytes.TrimSpace(body), &doc) == nil {
			a.code = doc.Code
		}
	}
	return a
}

// kind is the error kind of a, or "" for an OK answer.
func (a answer) kind() string {
	switch {
	case a.err != nil:
		return KindTransport
	case a.status < 400:
		return ""
	case a.code != "" && !strings.ContainsAny(a.code, " \t"):
		return strconv.Itoa(a.status) + " " + a.code
	default:
		return strconv.Itoa(a.status)
	}
}

func (a answer) message() string {
	if a.err != nil {
		return a.err.Error()
	}
	return strconv.Itoa(a.status) + " " + http.StatusText(a.status)
}

// stats is the tally of a run, shared by its workers: one histogram
// (some 100 KiB) however many workers there are.
type stats struct {
	mu         sync.Mutex
	hist       *hdrhistogram.Histogram // microseconds
	sent, ok   int64
	bytes      int64
	errorsBy   map[string]int64
	errSamples map[string]string
}

// maxLatencyUS is the largest latency the histogram holds (10 minutes);
// larger ones are recorded as it.
const maxLatencyUS = int64(10 * time.Minute / time.Microsecond)

func newStats() *stats {
	return &stats{hist: hdrhistogram.New(1, maxLatencyUS, 3), errorsBy: map[string]int64{}, errSamples: map[string]string{}}
}

// add records a and reports whether it was an error.
func (s *stats) add(a answer, latency time.Duration) (isErr bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	s.bytes += a.bytes
	k := a.kind()
	if k == "" {
		s.ok++
		_ = s.hist.RecordValue(min(max(latency.Microseconds(), 1), maxLatencyUS))
		return false
	}
	s.errorsBy[k]++
	if _, seen := s.errSamples[k]; !seen {
		s.errSamples[k] = a.message()
	}
	return true
}

func (s *stats) result(elapsed time.Duration) *Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Result{Requests: s.sent, OK: s.ok, Errors: s.sent - s.ok, ErrorsBy: s.errorsBy, ErrorSamples: s.errSamples,
		Elapsed: elapsed, ElapsedMS: float64(elapsed.Microseconds()) / 1000, BytesIn: s.bytes}
	if elapsed > 0 {
		r.ReqPerSec = math.Round(float64(s.sent)/elapsed.Seconds()*10) / 10
	}
	if s.ok > 0 {
		us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
		h := s.hist
		r.Latency = Latency{P50: us(h.ValueAtQuantile(50)), P90: us(h.ValueAtQuantile(90)), P99: us(h.ValueAtQuantile(99)),
			Max: us(h.Max()), Mean: time.Duration(h.Mean() * float64(time.Microsecond))}
	}
	return r
}
