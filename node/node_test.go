package node

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

func TestParseR1(t *testing.T) {
	listed := func(s services.ServiceID) bool { return s.Version == "v2" }
	for _, tc := range []struct {
		path, query, service, rest string
		err                        error
	}{
		{"/r1/VN/GOV/001/HR/persons/42", "", "VN/GOV/001/HR/persons", "/42", nil},
		{"/r1/VN/GOV/001/HR/persons/v2/42", "a=1", "VN/GOV/001/HR/persons/v2", "/42?a=1", nil},
		{"/r1/VN/GOV/001/HR/persons/v3/42", "", "VN/GOV/001/HR/persons", "/v3/42", nil}, // v3 not in the catalogue: a path
		{"/r1/VN/GOV/001/HR/persons", "", "VN/GOV/001/HR/persons", "/", nil},
		{"/r1/VN/GOV/001/HR/persons/", "", "VN/GOV/001/HR/persons", "/", nil},
		{"/r1/VN/GOV/001/HR/listMethods", "", "VN/GOV/001/HR/listMethods", "/", nil},
		{"/r1/VN/GOV/001/HR/persons/a%2Fb", "", "VN/GOV/001/HR/persons", "/a%2Fb", nil},
		{"/r1/VN/GOV/001/HR", "", "", "", ErrBadRequest},
		{"/r1/VN/GOV//HR/persons", "", "", "", ErrBadRequest},
		{"/r1/VN/GOV/0 1/HR/persons", "", "", "", ErrBadRequest},
		{"/r2/VN/GOV/001/HR/persons", "", "", "", ErrBadRequest},
		{"/r1/VN/GOV/001/HR/persons/x", strings.Repeat("q", envelope.MaxPath), "", "", ErrBadRequest},
	} {
		sid, rest, err := parseR1(tc.path, tc.query, listed)
		if !errors.Is(err, tc.err) || (err == nil && (sid.String() != tc.service || rest != tc.rest)) {
			t.Errorf("%s?%s: got %s %q %v, want %s %q %v", tc.path, tc.query, sid, rest, err, tc.service, tc.rest, tc.err)
		}
	}
}

func FuzzParseR1(f *testing.F) {
	f.Add("/r1/VN/GOV/001/HR/persons/v2/42", "a=1")
	f.Add("/r1/VN/GOV/001/HR", "")
	f.Add("/r1/a/b/c/d/e/f/g/h", "x")
	f.Fuzz(func(t *testing.T, path, query string) {
		sid, rest, err := parseR1(path, query, func(s services.ServiceID) bool { return len(s.Version)%2 == 0 })
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if !strings.HasPrefix(rest, "/") || len(rest) > envelope.MaxPath {
			t.Fatalf("rest %q", rest)
		}
		if _, err := services.ParseServiceID(sid.String()); err != nil {
			t.Fatalf("service %s does not parse back: %v", sid, err)
		}
	})
}

func TestParseConfigRefuses(t *testing.T) {
	good := `{"member":"VN/GOV/001","p2p_listen":["/ip4/127.0.0.1/tcp/4001"],"api_listen":"127.0.0.1:8443",
	  "services":[{"subsystem":"VN/GOV/001/HR","code":"persons","versions":[{"lifecycle":"published","backend_url":"http://127.0.0.1:9/","timeout":"5s"}]}],
	  "access":{"rules":[{"subject":"VN/GOV/002/X","service":"VN/GOV/001/HR/persons"}]},"rate_limits":{"defaults":{}}}`
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Services[0].Versions[0].EffectiveTimeout().String(); got != "5s" {
		t.Fatalf("timeout %s", got)
	}
	for name, raw := range map[string]string{
		"unknown field":     strings.Replace(good, `"api_listen"`, `"api_listn"`, 1),
		"trailing data":     good + `{}`,
		"not json":          `member: x`,
		"oversized":         `{"member":"` + strings.Repeat("a", MaxConfigSize) + `"}`,
		"bad member":        strings.Replace(good, `"member":"VN/GOV/001"`, `"member":"VN/GOV"`, 1),
		"other member":      strings.Replace(good, `"subsystem":"VN/GOV/001/HR"`, `"subsystem":"VN/GOV/009/HR"`, 1),
		"reserved code":     strings.Replace(good, `"code":"persons"`, `"code":"listMethods"`, 1),
		"bad multiaddr":     strings.Replace(good, `/ip4/127.0.0.1/tcp/4001`, `/ip9/x`, 1),
		"bad api address":   strings.Replace(good, `127.0.0.1:8443`, `localhost`, 1),
		"bad backend":       strings.Replace(good, `http://127.0.0.1:9/`, `ftp://x`, 1),
		"negative rate":     strings.Replace(good, `"defaults":{}`, `"defaults":{"reads_per_min":-1}`, 1),
		"bad timeout":       strings.Replace(good, `"5s"`, `"soon"`, 1),
		"bad client pin":    strings.Replace(good, `"access"`, `"clients":[{"subsystem":"VN/GOV/001/HR","cert_sha256":"ab"}],"access"`, 1),
		"duplicate service": strings.Replace(good, `"services":[`, `"services":[{"subsystem":"VN/GOV/001/HR","code":"persons","versions":[{"lifecycle":"published","backend_url":"http://x/"}]},`, 1),
	} {
		c, err := ParseConfig([]byte(raw))
		if err == nil {
			err = c.Validate()
		}
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: want ErrConfig, got %v", name, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"member":"VN/GOV/001","services":[{"subsystem":"VN/GOV/001/HR","code":"p","versions":[{"lifecycle":"published","backend_url":"http://x/"}]}]}`))
	f.Add([]byte(`{"member":"VN/GOV/001","lgsp":[{"version":"v1","domain":"d","resource":"r","service":"VN/GOV/001/HR/p"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}

func TestRemoteError(t *testing.T) {
	frame := func(p string) transport.ErrorFrame { return transport.DecodeError([]byte(p)) }
	err := remoteError(transport.DecodeError(transport.ErrorFrame{Code: "rate_limited", Message: "rate limit exceeded", RetryAfter: 7 * time.Second}.Encode()))
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != "rate_limited" || re.RetryAfter != "7" || !errors.Is(err, ErrRemote) {
		t.Fatalf("%#v", err)
	}
	if exchange.Status(err) != http.StatusTooManyRequests {
		t.Fatalf("status %d", exchange.Status(err))
	}
	if re := remoteError(frame("garbage")).(*RemoteError); re.Code != "garbage" || re.RetryAfter != "" || exchange.Status(re) != http.StatusBadGateway {
		t.Fatalf("%#v", re)
	}
	if re := remoteError(frame("rate_limited: retry-after=x; y")).(*RemoteError); re.RetryAfter != "" {
		t.Fatalf("bad retry-after accepted: %#v", re)
	}
}
