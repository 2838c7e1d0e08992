package services

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

func TestParseServiceID(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want ServiceID
	}{
		{"VN/GOV/H01/hr/persons", true, ServiceID{Provider: mustSub(t, "VN/GOV/H01/hr"), Code: "persons"}},
		{"VN/GOV/H01/hr/persons/v1", true, ServiceID{Provider: mustSub(t, "VN/GOV/H01/hr"), Code: "persons", Version: "v1"}},
		{"VN/GOV/H01/hr", false, ServiceID{}},
		{"VN/GOV/H01/hr/persons/v1/x", false, ServiceID{}},
		{"VN/GOV/H01/hr/persons/", false, ServiceID{}},
		{"/GOV/H01/hr/persons", false, ServiceID{}},
		{"VN/GOV/H01/hr/per sons", false, ServiceID{}},
		{"VN/GOV//hr/persons", false, ServiceID{}},
		{"", false, ServiceID{}},
		{"VN/GOV/H01/hr/persons/v1?x", false, ServiceID{}},
	}
	for _, tt := range tests {
		got, err := ParseServiceID(tt.in)
		if (err == nil) != tt.ok {
			t.Fatalf("ParseServiceID(%q) err=%v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidID) || Codes.Code(err) != "invalid_id" {
				t.Fatalf("error %v: want ErrInvalidID", err)
			}
			continue
		}
		if got != tt.want || got.String() != tt.in {
			t.Fatalf("ParseServiceID(%q) = %+v (%s)", tt.in, got, got)
		}
	}
}

func TestParseSubsystemID(t *testing.T) {
	for _, in := range []string{"VN/GOV/H01", "VN/GOV/H01/hr/x", "VN/GOV/H01/", "VN/GOV/H01/h\u00e9", "VN/GOV/H01/hr\n"} {
		if _, err := ParseSubsystemID(in); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseSubsystemID(%q) err=%v, want ErrInvalidID", in, err)
		}
	}
	id, err := ParseSubsystemID("VN-TEST/GOV/000.00.00.H01/hr_1")
	if err != nil || id.String() != "VN-TEST/GOV/000.00.00.H01/hr_1" {
		t.Fatalf("got %v %v", id, err)
	}
}

func mustSub(t testing.TB, s string) SubsystemID {
	t.Helper()
	id, err := ParseSubsystemID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustSvc(t testing.TB, s string) ServiceID {
	t.Helper()
	id, err := ParseServiceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDescriptionLifecycle(t *testing.T) {
	depAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sunset := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	doc := []byte(`{"openapi":"3.0.3"}`)
	d := Description{Code: "persons", Versions: []Version{
		{Version: "v1", Lifecycle: ident.ServiceRetired, BackendURL: "http://127.0.0.1:9000/v1"},
		{Version: "v2", Lifecycle: ident.ServiceDeprecated, DeprecatedAt: depAt, Sunset: sunset, BackendURL: "https://hr.local/v2"},
		{Version: "v3", Lifecycle: ident.ServicePublished, BackendURL: "https://hr.local/v3", Timeout: Duration(5 * time.Second), OpenAPI: doc},
	}}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	if d.Versions[2].OpenAPISHA256 != hex.EncodeToString(sum[:]) {
		t.Fatal("OpenAPI digest not filled in")
	}
	before := sunset.Add(-time.Second)

	if _, err := d.Resolve("v1", before); !errors.Is(err, ErrRetired) || Codes.Code(err) != "service_retired" {
		t.Fatalf("retired v1: %v", err)
	}
	if _, err := d.Resolve("v9", before); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("unknown v9: %v", err)
	}
	v2, err := d.Resolve("v2", before)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	v2.SetHeaders(h)
	if got := h.Get("Deprecation"); got != "@1767225600" {
		t.Errorf("Deprecation = %q", got)
	}
	if got := h.Get("Sunset"); got != "Wed, 01 Jul 2026 12:00:00 GMT" {
		t.Errorf("Sunset = %q", got)
	}
	if _, err := d.Resolve("v2", sunset); !errors.Is(err, ErrRetired) {
		t.Fatalf("v2 at sunset: %v", err)
	}
	v3, err := d.Resolve("v3", sunset)
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header{}
	v3.SetHeaders(h)
	if len(h) != 0 || v3.EffectiveTimeout() != 5*time.Second {
		t.Fatalf("published version headers %v timeout %v", h, v3.EffectiveTimeout())
	}
	if (&Version{}).EffectiveTimeout() != DefaultBackendTimeout {
		t.Fatal("default timeout")
	}
}

func TestDescriptionValidate(t *testing.T) {
	ok := Version{Version: "v1", Lifecycle: ident.ServicePublished, BackendURL: "http://b:1"}
	tests := []struct {
		name string
		mod  func(*Description)
	}{
		{"bad code", func(d *Description) { d.Code = "a/b" }},
		{"no versions", func(d *Description) { d.Versions = nil }},
		{"duplicate version", func(d *Description) { d.Versions = append(d.Versions, ok) }},
		{"bad version", func(d *Description) { d.Versions[0].Version = "v 1" }},
		{"bad lifecycle", func(d *Description) { d.Versions[0].Lifecycle = "gone" }},
		{"deprecated without sunset", func(d *Description) { d.Versions[0].Lifecycle = ident.ServiceDeprecated }},
		{"sunset before deprecation", func(d *Description) {
			d.Versions[0].Lifecycle = ident.ServiceDeprecated
			d.Versions[0].DeprecatedAt = time.Unix(200, 0)
			d.Versions[0].Sunset = time.Unix(100, 0)
		}},
		{"relative backend", func(d *Description) { d.Versions[0].BackendURL = "/x" }},
		{"ftp backend", func(d *Description) { d.Versions[0].BackendURL = "ftp://h/x" }},
		{"negative timeout", func(d *Description) { d.Versions[0].Timeout = -1 }},
		{"wrong digest", func(d *Description) { d.Versions[0].OpenAPI = []byte("x"); d.Versions[0].OpenAPISHA256 = "00" }},
		{"digest without doc", func(d *Description) { d.Versions[0].OpenAPISHA256 = "00" }},
	}
	for _, tt := range tests {
		d := Description{Code: "svc", Versions: []Version{ok}}
		tt.mod(&d)
		if err := d.Validate(); !errors.Is(err, ErrInvalidDescription) {
			t.Errorf("%s: err=%v, want ErrInvalidDescription", tt.name, err)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "1", time.Nanosecond: "1", 60 * time.Millisecond: "1", time.Second: "1",
		time.Second + 1: "2", 59*time.Second + 999*time.Millisecond: "60",
	} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if Codes.Code(nil) != "" || Codes.Code(errors.New("x")) != "internal" {
		t.Fatal("nil/foreign codes")
	}
	seen := map[string]bool{}
	for _, code := range Codes.Codes() {
		if Codes.Code(Codes.Sentinel(code)) != code || seen[code] {
			t.Fatalf("code %s", code)
		}
		seen[code] = true
	}
}
