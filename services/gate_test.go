package services

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

func testGate(t *testing.T) (*Gate, *time.Time) {
	t.Helper()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	id, err := ParseServiceID(svcBase)
	if err != nil {
		t.Fatal(err)
	}
	d := &Description{Code: "persons", Versions: []Version{
		{Version: "v1", Lifecycle: ident.ServiceRetired, BackendURL: "http://b/"},
		{Version: "v2", Lifecycle: ident.ServicePublished, BackendURL: "http://b/"},
		{Version: "v3", Lifecycle: ident.ServiceDeprecated, DeprecatedAt: now.Add(-48 * time.Hour), Sunset: now.Add(-time.Hour), BackendURL: "http://b/"},
	}}
	acl, _ := testACL(t)
	g := NewGate(map[string]*Provided{id.String(): {ID: id, Description: d,
		Validate: map[string]*OpenAPI{"v2": mustOpenAPI(t, personsYAML)}}}, acl, clock)
	l, err := NewLimiter(RateLimitConfig{Defaults: Limits{ReadsPerMin: 1, WritesPerMin: 1}}, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	g.SetLimiter(l)
	return g, &now
}

func gateReq(t *testing.T, client, service, method, path string) *Request {
	t.Helper()
	c, err := ParseSubsystemID(client)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseServiceID(service)
	if err != nil {
		t.Fatal(err)
	}
	return &Request{Client: c, Service: s, Method: method, Path: path, ContentType: "application/json"}
}

// TestGateOrder checks that each step decides before the next one: the
// first failing step names the error, and the rate limit is charged only
// to calls the ACL allowed.
func TestGateOrder(t *testing.T) {
	for _, tc := range []struct {
		name, client, service, method, path, body string
		want                                      error
	}{
		{"not provided, no right", cB, prov + "/other", "GET", "/x", "", ErrNotProvided},
		{"unknown version, no right", cB, svcBase + "/v9", "GET", "/persons", "", ErrUnknownVersion},
		{"retired, no right", cB, svcBase + "/v1", "GET", "/persons/1", "", ErrRetired},
		{"past sunset, no right", cB, svcBase + "/v3", "GET", "/persons/1", "", ErrRetired},
		{"no right", cB, svcBase + "/v2", "GET", "/persons/1", "", ErrAccessDenied},
		{"invalid body", cA, svcBase + "/v2", "POST", "/persons", `{"name":1}`, ErrValidation},
		{"admitted", cA, svcBase + "/v2", "GET", "/persons/1", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := testGate(t)
			r := gateReq(t, tc.client, tc.service, tc.method, tc.path)
			read := false
			r.Body = func() ([]byte, error) { read = true; return []byte(tc.body), nil }
			a, err := g.Admit(context.Background(), r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if tc.want == nil && (a.Version.Version != "v2" || a.Service.ID.String() != svcBase) {
				t.Fatalf("admitted %+v", a)
			}
			var ref *Refusal
			if errors.As(err, &ref) {
				if read {
					t.Fatal("body read for a refused call")
				}
				// Refused before the rate limit: the budget is untouched.
				if ok, _ := g.Limiter().Allow(r.Client, r.Service, r.Method); !ok {
					t.Fatal("a refused call was charged to the rate limit")
				}
			}
		})
	}
}

func TestGateRateLimit(t *testing.T) {
	g, now := testGate(t)
	r := gateReq(t, cA, svcBase+"/v2", "GET", "/persons/1")
	read := 0
	r.Body = func() ([]byte, error) { read++; return nil, nil }
	if _, err := g.Admit(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	_, err := g.Admit(context.Background(), r)
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || rl.RetryAfter <= 0 || rl.RetryAfter > time.Minute {
		t.Fatalf("%#v", err)
	}
	if read != 1 {
		t.Fatalf("body read %d times, want 1 (not for the refused call)", read)
	}
	// An access refusal wins over an exhausted budget.
	d := gateReq(t, cB, svcBase+"/v2", "GET", "/persons/1")
	if _, err := g.Admit(context.Background(), d); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("got %v", err)
	}
	// Metadata calls are charged to the rate limit only.
	m := gateReq(t, cB, prov+"/listMethods", "GET", "/")
	m.Meta = true
	if _, err := g.Admit(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Admit(context.Background(), m); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("got %v", err)
	}
	*now = now.Add(time.Minute)
	if _, err := g.Admit(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func TestGateBodyError(t *testing.T) {
	g, _ := testGate(t)
	r := gateReq(t, cA, svcBase+"/v2", "GET", "/persons/1")
	boom := errors.New("boom")
	r.Body = func() ([]byte, error) { return nil, boom }
	if _, err := g.Admit(context.Background(), r); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

// TestGateContract: the contract check is asked about the resolved
// version after the ACL and the rate limit, and its refusal comes before
// the body is read; a call the ACL refuses never asks it.
func TestGateContract(t *testing.T) {
	g, _ := testGate(t)
	mismatch := errors.New("mismatch")
	asked := []string{}
	contract := func(v string) error { asked = append(asked, v); return mismatch }
	denied := gateReq(t, cB, svcBase+"/v2", "POST", "/persons")
	denied.Contract = contract
	if _, err := g.Admit(context.Background(), denied); !errors.Is(err, ErrAccessDenied) || len(asked) != 0 {
		t.Fatalf("a call without access: %v, contract asked %v", err, asked)
	}
	r := gateReq(t, cA, svcBase+"/v2", "POST", "/persons")
	r.Contract = contract
	read := false
	r.Body = func() ([]byte, error) { read = true; return []byte(`{"name":1}`), nil }
	if _, err := g.Admit(context.Background(), r); !errors.Is(err, mismatch) || read || len(asked) != 1 || asked[0] != "v2" {
		t.Fatalf("got %v, body read %v, contract asked %v", err, read, asked)
	}
	if ok, _ := g.Limiter().Allow(r.Client, r.Service, r.Method); ok {
		t.Fatal("the contract was asked before the call was charged to the rate limit")
	}
}
