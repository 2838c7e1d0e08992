package api_test

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dxl-network/dxl/membership/api"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type intakeFixture struct {
	srv   *store.Server
	api   *api.API
	clock *clock
}

func newIntakeFixture(t *testing.T, in api.IntakeConfig) *intakeFixture {
	t.Helper()
	c := storetest.NewCluster(t, storetest.Opts{N: 1})
	clk := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	srv := c.WaitLeader(0)
	return &intakeFixture{srv: srv, api: api.New(srv, api.Config{Intake: in, Now: clk.Now, Logger: regtest.Logger()}), clock: clk}
}

func pemCSR(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

func submitBody(a *regtest.Applicant) client.SubmitRequest {
	return client.SubmitRequest{Member: a.Member, Registration: regtest.ValidRegistration(a.Code),
		NodeCSR: pemCSR(a.NodeCSR), SignCSR: pemCSR(a.SignCSR), NodeAddrs: []string{"/ip4/10.0.0.1/tcp/4001"}}
}

// submit posts body from remote and returns the status, error code and
// answer.
func (f *intakeFixture) submit(t *testing.T, remote string, body client.SubmitRequest) (*httptest.ResponseRecorder, string) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/registrations", bytes.NewReader(raw))
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	var e client.ErrorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	return rec, e.Error.Code
}

func (f *intakeFixture) requests() int {
	n := 0
	f.srv.Read(func(st *state.State) { n = len(st.Requests) })
	return n
}

var codes = []string{"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08"}

func TestRegistrationPendingCapPerAddress(t *testing.T) {
	f := newIntakeFixture(t, api.IntakeConfig{PerMinute: 6000, Burst: 100, MaxPending: 3})
	const from = "198.51.100.1:40000"
	var ids []string
	for _, code := range codes[:3] {
		rec, code := f.submit(t, from, submitBody(regtest.NewApplicant(t, code)))
		if rec.Code != http.StatusAccepted {
			t.Fatalf("submission within the cap: %d %s %s", rec.Code, code, rec.Body)
		}
		var st client.RegistrationStatus
		_ = json.Unmarshal(rec.Body.Bytes(), &st)
		ids = append(ids, st.RequestID)
	}
	rec, code := f.submit(t, "198.51.100.1:40001", submitBody(regtest.NewApplicant(t, codes[3])))
	if rec.Code != http.StatusTooManyRequests || code != "too_many_pending" {
		t.Fatalf("4th pending from one address: %d %q %s", rec.Code, code, rec.Body)
	}
	if f.requests() != 3 {
		t.Fatalf("%d requests recorded, want 3", f.requests())
	}
	// Another address is not affected.
	if rec, code := f.submit(t, "203.0.113.5:1234", submitBody(regtest.NewApplicant(t, codes[4]))); rec.Code != http.StatusAccepted {
		t.Fatalf("other address: %d %s", rec.Code, code)
	}
	// Once an operator decides one, the address may submit again.
	ctx := storetest.Context(t, 20*time.Second)
	if _, err := f.srv.Apply(ctx, &state.RejectRegistration{Header: state.Header{Actor: "operator"}, RequestID: ids[0], Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if rec, code := f.submit(t, from, submitBody(regtest.NewApplicant(t, codes[5]))); rec.Code != http.StatusAccepted {
		t.Fatalf("after a decision: %d %s %s", rec.Code, code, rec.Body)
	}
}

func TestRegistrationRateLimitPerAddress(t *testing.T) {
	f := newIntakeFixture(t, api.IntakeConfig{PerMinute: 1, Burst: 2, MaxPending: 100})
	const from = "[2001:db8::7]:5000"
	for _, code := range codes[:2] {
		if rec, c := f.submit(t, from, submitBody(regtest.NewApplicant(t, code))); rec.Code != http.StatusAccepted {
			t.Fatalf("within the burst: %d %s", rec.Code, c)
		}
	}
	rec, code := f.submit(t, from, submitBody(regtest.NewApplicant(t, codes[2])))
	if rec.Code != http.StatusTooManyRequests || code != "rate_limited" || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("beyond the burst: %d %q Retry-After %q %s", rec.Code, code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if f.requests() != 2 {
		t.Fatalf("%d requests recorded, want 2", f.requests())
	}
	if rec, c := f.submit(t, "[2001:db8::8]:5000", submitBody(regtest.NewApplicant(t, codes[3]))); rec.Code != http.StatusAccepted {
		t.Fatalf("other address: %d %s", rec.Code, c)
	}
	f.clock.Advance(time.Minute)
	if rec, c := f.submit(t, from, submitBody(regtest.NewApplicant(t, codes[2]))); rec.Code != http.StatusAccepted {
		t.Fatalf("after a minute: %d %s %s", rec.Code, c, rec.Body)
	}
}

func TestRegistrationCSRWithoutKeyProofRefused(t *testing.T) {
	f := newIntakeFixture(t, api.IntakeConfig{})
	for _, which := range []string{"node", "sign"} {
		a := regtest.NewApplicant(t, "B01")
		body := submitBody(a)
		bad := slices.Clone(a.NodeCSR)
		if which == "sign" {
			bad = slices.Clone(a.SignCSR)
		}
		bad[len(bad)-5] ^= 0xff // inside the self-signature
		if which == "node" {
			body.NodeCSR = pemCSR(bad)
		} else {
			body.SignCSR = pemCSR(bad)
		}
		rec, code := f.submit(t, "192.0.2.10:1", body)
		if rec.Code != http.StatusBadRequest || code != "csr_signature" {
			t.Fatalf("%s CSR with a broken signature: %d %q %s", which, rec.Code, code, rec.Body)
		}
	}
	if n := f.requests(); n != 0 {
		t.Fatalf("%d requests recorded, want none", n)
	}
}

func TestIntakeConfigValidate(t *testing.T) {
	for _, c := range []api.IntakeConfig{{PerMinute: -1}, {Burst: -2}, {MaxPending: 5000}, {MaxAddrs: -1}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (api.IntakeConfig{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
