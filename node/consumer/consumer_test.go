package consumer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/node/transport"
	"github.com/dxl-network/dxl/services"
)

func TestParseR1(t *testing.T) {
	listed := func(s services.ServiceID) bool { return s.Version == "v2" || s.Version == "v2 " }
	for _, tc := range []struct {
		path, query, service, rest string
		err                        error
	}{
		{"/r1/VN/GOV/001/HR/persons/42", "", "VN/GOV/001/HR/persons", "/42", nil},
		{"/r1/VN/GOV/001/HR/persons/v2/42", "a=1", "VN/GOV/001/HR/persons/v2", "/42?a=1", nil},
		{"/r1/VN/GOV/001/HR/persons/v3/42", "", "VN/GOV/001/HR/persons", "/v3/42", nil},   // v3 not in the catalogue: a path
		{"/r1/VN/GOV/001/HR/persons/v2 /42", "", "VN/GOV/001/HR/persons", "/v2 /42", nil}, // not an identifier part: a path, whatever the catalogue says
		{"/r1/VN/GOV/001/HR/persons", "", "VN/GOV/001/HR/persons", "/", nil},
		{"/r1/VN/GOV/001/HR/persons/", "", "VN/GOV/001/HR/persons", "/", nil},
		{"/r1/VN/GOV/001/HR/listMethods", "", "VN/GOV/001/HR/listMethods", "/", nil},
		{"/r1/VN/GOV/001/HR/persons/a%2Fb", "", "VN/GOV/001/HR/persons", "/a%2Fb", nil},
		{"/r1/VN/GOV/001/HR", "", "", "", exchange.ErrBadRequest},
		{"/r1/VN/GOV//HR/persons", "", "", "", exchange.ErrBadRequest},
		{"/r1/VN/GOV/0 1/HR/persons", "", "", "", exchange.ErrBadRequest},
		{"/r2/VN/GOV/001/HR/persons", "", "", "", exchange.ErrBadRequest},
		{"/r1/VN/GOV/001/HR/persons/x", strings.Repeat("q", envelope.MaxPath), "", "", exchange.ErrBadRequest},
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
			if !errors.Is(err, exchange.ErrBadRequest) {
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

func TestRemoteError(t *testing.T) {
	frame := func(p string) transport.ErrorFrame { return transport.DecodeError([]byte(p)) }
	err := RemoteErrorOf(transport.DecodeError(transport.ErrorFrame{Code: "rate_limited", Message: "rate limit exceeded", RetryAfter: 7 * time.Second}.Encode()))
	var re *exchange.RemoteError
	if !errors.As(err, &re) || re.Code != "rate_limited" || re.RetryAfter != "7" || !errors.Is(err, exchange.ErrRemote) {
		t.Fatalf("%#v", err)
	}
	if exchange.Status(err) != http.StatusTooManyRequests {
		t.Fatalf("status %d", exchange.Status(err))
	}
	if re := RemoteErrorOf(frame("garbage")).(*exchange.RemoteError); re.Code != "garbage" || re.RetryAfter != "" || exchange.Status(re) != http.StatusBadGateway {
		t.Fatalf("%#v", re)
	}
	if re := RemoteErrorOf(frame("rate_limited: retry-after=x; y")).(*exchange.RemoteError); re.RetryAfter != "" {
		t.Fatalf("bad retry-after accepted: %#v", re)
	}
}

func TestRequestIDOf(t *testing.T) {
	const good = "6f9619ff-8b86-4d01-b42d-00c04fc964ff"
	for _, tc := range []struct {
		name string
		vals []string
		want error
	}{
		{"absent: a new one", nil, nil},
		{"one valid", []string{good}, nil},
		{"empty", []string{""}, exchange.ErrBadRequestID},
		{"twice", []string{good, good}, exchange.ErrBadRequestID},
		{"not version 4", []string{"6ba7b810-9dad-11d1-80b4-00c04fd430c8"}, exchange.ErrBadRequestID},
		{"two in one value", []string{good + ", " + good}, exchange.ErrBadRequestID},
	} {
		h := http.Header{}
		for _, v := range tc.vals {
			h.Add(HeaderRequestID, v)
		}
		id, err := requestIDOf(h)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if err == nil && len(tc.vals) == 1 && id.String() != good {
			t.Errorf("%s: id %s", tc.name, id)
		}
		if err == nil && len(tc.vals) == 0 && id == (envelope.RequestID{}) {
			t.Errorf("%s: zero id generated", tc.name)
		}
	}
}

func TestPinnedClientCertificateDates(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "is"},
		NotBefore: notBefore, NotAfter: notBefore.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(der)
	const sub = "VN-TEST/GOV/000.00.00.A01/TUPHAP"
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"inside its dates", notBefore.AddDate(0, 6, 0), nil},
		{"expired", notBefore.AddDate(1, 0, 1), exchange.ErrUnauthenticated},
		{"not yet valid", notBefore.Add(-time.Hour), exchange.ErrUnauthenticated},
	} {
		a := New(Config{Clients: map[string]string{hex.EncodeToString(sum[:]): sub}, Now: func() time.Time { return tc.now }})
		r := httptest.NewRequest("GET", "/r1/x", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
		got, err := a.authenticate(r)
		if !errors.Is(err, tc.want) || (err == nil && got.String() != sub) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestMayResend(t *testing.T) {
	broken := fmt.Errorf("%w: reading from node: stream reset", exchange.ErrUnreachable)
	refused := &exchange.RemoteError{Code: "rate_limited"}
	for _, c := range []struct {
		method string
		sent   bool
		err    error
		want   bool
	}{
		{"POST", false, broken, true}, // never reached the node
		{"POST", true, broken, false}, // may have run: never twice
		{"GET", true, broken, true},   // idempotent and unanswered
		{"PUT", true, broken, true},
		{"DELETE", true, broken, true},
		{"PATCH", true, broken, false},
		{"GET", true, refused, false},               // answered: a refusal is the answer
		{"GET", true, envelope.ErrSignature, false}, // a forged answer is not resent either
		{"GET", false, envelope.ErrSignature, true},
	} {
		if got := mayResend(c.method, c.sent, c.err); got != c.want {
			t.Errorf("mayResend(%s, sent=%v, %v) = %v, want %v", c.method, c.sent, c.err, got, c.want)
		}
	}
}
