package consumer

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

const testSubsystem = "VN-TEST/GOV/000.00.00.A01/TUPHAP"

// testAPI is an API whose one information system is pinnedCert's.
func testAPI(t *testing.T, logger *slog.Logger) (*API, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "is"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(der)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	member, _ := ident.ParseMember("VN-TEST/GOV/000.00.00.A01", "")
	return New(Config{
		Member: member, Clients: map[string]string{hex.EncodeToString(sum[:]): testSubsystem},
		MaxBody: 1 << 20, CallTimeout: time.Second, Now: time.Now, Logger: logger,
		Logs: &exchange.Logs{Log: exchange.NoLogs{}, Records: exchange.NoLogs{}, Now: time.Now, Logger: logger},
	}), cert
}

// rawRequest writes one HTTP/1.1 request with target as it is (clients
// clean paths) and returns the answer.
func rawRequest(t *testing.T, addr, method, target string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: node\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", method, target)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// TestNoRedirects: paths http.ServeMux would redirect to their cleaned
// form are answered in the exchange error shape, never with a redirect.
func TestNoRedirects(t *testing.T) {
	a, _ := testAPI(t, nil)
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	for _, tc := range []struct {
		method, target string
		code           string
	}{
		{"GET", "/r1/VN/GOV/001/HR/persons/../../../../token", "bad_path"},
		{"GET", "/r1/./VN/GOV/001/HR/persons", "bad_path"},
		{"GET", "/r1/VN/GOV/001/HR/persons/.", "bad_path"},
		{"GET", "/r1//VN/GOV/001/HR/persons", "bad_path"},
		{"POST", "//token", "bad_path"},
		{"POST", "/soap/..", "bad_path"},
		{"GET", "/r1/VN/GOV/001/HR/persons/%2e%2e/x", "bad_path"},
		{"GET", "/r1/VN/GOV/001/HR/persons/a%2F%2Fb", "unauthenticated"}, // one segment
		{"GET", "/v1/dancu/citizens//1", "bad_path"},
		{"GET", "/r1", "unauthenticated"},
		{"GET", "/health/services", "unauthenticated"},
	} {
		resp, body := rawRequest(t, addr, tc.method, tc.target)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
			t.Errorf("%s %s: redirect %d to %q", tc.method, tc.target, resp.StatusCode, resp.Header.Get("Location"))
			continue
		}
		var e exchange.ErrorBody
		if err := json.Unmarshal(body, &e); err != nil || e.Code != tc.code || e.Message == "" ||
			resp.Header.Get(HeaderError) != tc.code || resp.Header.Get("Content-Type") != exchange.ContentJSON {
			t.Errorf("%s %s: %d %v %s, want %s in the exchange error shape", tc.method, tc.target, resp.StatusCode, resp.Header, body, tc.code)
			continue
		}
		if tc.code == "bad_path" && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s %s: status %d", tc.method, tc.target, resp.StatusCode)
		}
	}
}

type soapFaultBody struct {
	Fault struct {
		FaultCode   string `xml:"faultcode"`
		FaultString string `xml:"faultstring"`
		Code        struct {
			Value   string `xml:"Value"`
			Subcode struct {
				Value string `xml:"Value"`
			} `xml:"Subcode"`
		} `xml:"Code"`
		Reason string `xml:"Reason>Text"`
	} `xml:"Body>Fault"`
}

// TestSOAPClientFaults: a SOAP request the client got wrong is answered
// with its 4xx status and a Client (1.1) or Sender (1.2) fault; the
// node's own failures stay 500 Server / Receiver faults.
func TestSOAPClientFaults(t *testing.T) {
	a, cert := testAPI(t, nil)
	h := a.Handler()
	const env11, env12 = services.SOAP11Namespace, services.SOAP12Namespace
	mismatch := func(ns string) string {
		return `<e:Envelope xmlns:e="` + ns + `" xmlns:x="` + services.XRoadNamespace + `" xmlns:i="` + services.IdenNamespace + `"><e:Header>` +
			`<x:client i:objectType="SUBSYSTEM"><i:xRoadInstance>VN-TEST</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>000.00.00.A01</i:memberCode><i:subsystemCode>OTHER</i:subsystemCode></x:client>` +
			`<x:service i:objectType="SERVICE"><i:xRoadInstance>VN-TEST</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>000.00.00.B01</i:memberCode><i:subsystemCode>S</i:subsystemCode><i:serviceCode>get</i:serviceCode></x:service>` +
			`<x:id>1</x:id></e:Header><e:Body/></e:Envelope>`
	}
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		code, fault       string
	}{
		{"not XML 1.1", "text/xml", "<not soap", 400, "invalid_soap", "SOAP-ENV:Client.invalid_soap"},
		{"not XML 1.2", "application/soap+xml", "<not soap", 400, "invalid_soap", "env:Sender dxl:invalid_soap"},
		{"no header 1.1", "text/xml", `<e:Envelope xmlns:e="` + env11 + `"><e:Body/></e:Envelope>`, 400, "invalid_soap", "SOAP-ENV:Client.invalid_soap"},
		{"client mismatch 1.1", "text/xml", mismatch(env11), 403, "client_mismatch", "SOAP-ENV:Client.client_mismatch"},
		{"client mismatch 1.2", "application/soap+xml", mismatch(env12), 403, "client_mismatch", "env:Sender dxl:client_mismatch"},
	} {
		r := httptest.NewRequest("POST", "/soap", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ctype)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var f soapFaultBody
		if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
			t.Errorf("%s: %d not a SOAP fault: %v %s", tc.name, rec.Code, err, rec.Body)
			continue
		}
		got := f.Fault.FaultCode
		if strings.Contains(tc.ctype, "soap+xml") {
			got = f.Fault.Code.Value + " " + f.Fault.Code.Subcode.Value
		}
		if rec.Code != tc.status || rec.Header().Get(HeaderError) != tc.code || got != tc.fault {
			t.Errorf("%s: %d %q %q, want %d %q %q", tc.name, rec.Code, rec.Header().Get(HeaderError), got, tc.status, tc.code, tc.fault)
		}
	}
	// A server-side failure keeps the 500 Server fault.
	rec := httptest.NewRecorder()
	a.soapFail(rec, "1.1", "", "", fmt.Errorf("%w: broken", exchange.ErrConfig))
	var f soapFaultBody
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil || rec.Code != 500 || f.Fault.FaultCode != "SOAP-ENV:Server.config" {
		t.Errorf("server fault: %d %q %v", rec.Code, f.Fault.FaultCode, err)
	}
}

// TestNoAddressesInErrors: a 5xx an information system reads names the
// provider and the code, never the addresses in the failure's text; the
// node's log keeps them.
func TestNoAddressesInErrors(t *testing.T) {
	var log strings.Builder
	a, _ := testAPI(t, slog.New(slog.NewTextHandler(&log, nil)))
	const pid = "12D3KooWDeKEnXurM7EUydewjWjdiVyQeN1VaKRXnYUYERF5MFaW"
	dial := errors.New("failed to dial: all dials failed\n  * [/ip4/127.0.0.1/tcp/40123] dial tcp4 127.0.0.1:40123: connect: connection refused")
	leaks := []string{"/ip4/", "127.0.0.1", ":40123", "10.0.0.5"}
	for _, err := range []error{
		fmt.Errorf("%w: %s: %w", exchange.ErrUnreachable, pid, dial),
		fmt.Errorf("%w: %v", exchange.ErrTimeout, dial),
		&exchange.RemoteError{Code: "backend_unreachable", Message: "Get http://10.0.0.5:8080/x: connection refused"},
		fmt.Errorf("%w: dial tcp 127.0.0.1:40123", exchange.ErrConfig),
	} {
		rec := httptest.NewRecorder()
		a.failFrom(rec, "r", "provider node "+pid, err)
		var e exchange.ErrorBody
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || rec.Code < 500 || e.Code != exchange.ReportedCode(err) {
			t.Fatalf("%v: %d %s", err, rec.Code, rec.Body)
		}
		soap := httptest.NewRecorder()
		a.soapFail(soap, "1.2", "r", "provider node "+pid, err)
		for _, leak := range leaks {
			if strings.Contains(e.Message, leak) || strings.Contains(soap.Body.String(), leak) {
				t.Errorf("%s: message %q / fault %s holds %q", e.Code, e.Message, soap.Body, leak)
			}
		}
		if errors.Is(err, exchange.ErrUnreachable) && e.Message != "provider node "+pid+" unreachable (details in this node's log under the request ID)" {
			t.Errorf("unreachable: message %q", e.Message)
		}
	}
	if !strings.Contains(log.String(), "127.0.0.1:40123") || !strings.Contains(log.String(), "10.0.0.5:8080") {
		t.Errorf("the log lost the details:\n%s", log.String())
	}
	// A refusal of the request itself keeps its whole text.
	rec := httptest.NewRecorder()
	a.fail(rec, "", fmt.Errorf("%w: claimed VN/X/Y/Z", exchange.ErrClientMismatch))
	if !strings.Contains(rec.Body.String(), "claimed VN/X/Y/Z") {
		t.Errorf("4xx message cut: %s", rec.Body)
	}
}
