package consumer

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/node/exchange"
)

// TestXRoadTypeEveryCode: every code the consumer API can answer with (its
// own table and the node's) has an X-Road name, so none falls back to
// InternalError unnoticed.
func TestXRoadTypeEveryCode(t *testing.T) {
	codes := append(append([]string{"internal"}, exchange.Codes.Codes()...), Codes.Codes()...)
	for _, code := range codes {
		if name, ok := exchange.XRoadName(code); !ok || name == "" {
			t.Errorf("code %s has no X-Road type", code)
		}
	}
}

// TestXRoadErrorJSON: a JSON error carries X-Road-Error beside
// X-DXL-Error and X-Road's type, message and detail beside DXL's code,
// message and request ID; the family says who raised it (X-Road Message
// Protocol for REST, 4.6 Error handling).
func TestXRoadErrorJSON(t *testing.T) {
	a, _ := testAPI(t, nil)
	const id = "8f7e3f0a-6a55-4a4b-9d0e-5b2f3f0b7c11"
	for _, tc := range []struct {
		err    error
		status int
		code   string
		typ    string
	}{
		{fmt.Errorf("%w: x", exchange.ErrBadRequest), 400, "bad_request", "Client.BadRequest"},
		{fmt.Errorf("%w: x", ErrBadPath), 400, "bad_path", "Client.BadRequest"},
		{fmt.Errorf("%w: x", exchange.ErrUnauthenticated), 401, "unauthenticated", "Client.SslAuthenticationFailed"},
		{fmt.Errorf("%w: x", exchange.ErrClientMismatch), 403, "client_mismatch", "Client.InvalidClientIdentifier"},
		{fmt.Errorf("%w: x", exchange.ErrUnknownService), 404, "unknown_service", "Client.UnknownService"},
		{exchange.ErrNotMember, 403, "not_member", "Server.ClientProxy.InvalidSecurityServer"},
		{fmt.Errorf("%w: x", exchange.ErrUnreachable), 502, "provider_unreachable", "Server.ClientProxy.NetworkError"},
		{fmt.Errorf("%w: x", exchange.ErrTimeout), 504, "timeout", "Server.ClientProxy.NetworkError"},
		{exchange.ErrNoConfig, 503, "no_config", "Server.ClientProxy.OutdatedGlobalConf"},
		{fmt.Errorf("wrapped nothing"), 500, "internal", "Server.ClientProxy.InternalError"},
		{&exchange.RemoteError{Code: "access_denied", Message: "m"}, 403, "access_denied", "Server.ServerProxy.AccessDenied"},
		{&exchange.RemoteError{Code: "unknown_service", Message: "m"}, 404, "unknown_service", "Server.ServerProxy.UnknownService"},
		{&exchange.RemoteError{Code: "backend_unreachable", Message: "m"}, 502, "backend_unreachable", "Server.ServerProxy.ServiceFailed"},
		{&exchange.RemoteError{Code: "backend_timeout", Message: "m"}, 504, "backend_timeout", "Server.ServerProxy.ServiceFailed"},
		{&exchange.RemoteError{Code: "from_a_newer_node", Message: "m"}, 502, "from_a_newer_node", "Server.ServerProxy.InternalError"},
	} {
		rec := httptest.NewRecorder()
		a.failFrom(rec, id, "", tc.err)
		h := rec.Header()
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v %s", tc.code, err, rec.Body)
		}
		if rec.Code != tc.status || h.Get(HeaderError) != tc.code || h.Get(HeaderXRoadError) != tc.typ ||
			h.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: %d %v, want %d %s", tc.code, rec.Code, h, tc.status, tc.typ)
		}
		if body["code"] != tc.code || body["type"] != tc.typ || body["message"] == "" ||
			body["detail"] != id || body["requestId"] != id || len(body) != 5 {
			t.Errorf("%s: body %v", tc.code, body)
		}
	}
}

// TestXRoadErrorXML: a client whose Accept prefers XML gets X-Road's XML
// error form <error><type/><message/><detail/></error> (with DXL's code
// and request ID) as text/xml; a client preferring JSON, or naming no XML
// type, gets JSON.
func TestXRoadErrorXML(t *testing.T) {
	a, _ := testAPI(t, nil)
	h := a.Handler()
	const id = "8f7e3f0a-6a55-4a4b-9d0e-5b2f3f0b7c11"
	for _, tc := range []struct {
		accept []string
		xml    bool
	}{
		{nil, false},
		{[]string{"application/json"}, false},
		{[]string{"*/*"}, false},
		{[]string{"text/xml"}, true},
		{[]string{"application/xml"}, true},
		{[]string{"text/*"}, true},
		{[]string{"application/xml;q=0.9, application/json;q=0.5"}, true},
		{[]string{"application/json", "text/xml;q=0.8"}, false},
		{[]string{"application/json, text/xml"}, false},
		{[]string{"text/xml, application/json"}, true},
		{[]string{"text/xml;q=0"}, false},
		{[]string{"TEXT/XML; charset=utf-8"}, true},
	} {
		r := httptest.NewRequest("GET", "/r1/VN-TEST//S", nil)
		r.Header.Set(HeaderRequestID, id)
		r.Header["Accept"] = tc.accept
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if got := rec.Header().Get(HeaderXRoadError); got != "Client.BadRequest" || rec.Code != http.StatusBadRequest {
			t.Fatalf("%q: %d %q", tc.accept, rec.Code, got)
		}
		ctype := rec.Header().Get("Content-Type")
		if !tc.xml {
			if ctype != exchange.ContentJSON || !json.Valid(rec.Body.Bytes()) {
				t.Errorf("%q: %s %s, want JSON", tc.accept, ctype, rec.Body)
			}
			continue
		}
		var e struct {
			XMLName xml.Name
			Type    string `xml:"type"`
			Message string `xml:"message"`
			Detail  string `xml:"detail"`
		}
		var e2 exchange.ErrorBody
		body := rec.Body.String()
		if ctype != "text/xml; charset=utf-8" || !strings.HasPrefix(body, xml.Header) ||
			xml.Unmarshal(rec.Body.Bytes(), &e) != nil || xml.Unmarshal(rec.Body.Bytes(), &e2) != nil {
			t.Errorf("%q: %s %s, want XML", tc.accept, ctype, body)
			continue
		}
		if e.XMLName.Local != "error" || e.Type != "Client.BadRequest" || e.Message == "" || e.Detail != id ||
			e2.Code != "bad_path" || e2.RequestID != id {
			t.Errorf("%q: %+v %s", tc.accept, e2, body)
		}
	}
}

// TestXRoadErrorSOAP: a SOAP fault keeps its shape and carries
// X-Road-Error too.
func TestXRoadErrorSOAP(t *testing.T) {
	a, _ := testAPI(t, nil)
	for _, tc := range []struct {
		err error
		typ string
	}{
		{fmt.Errorf("%w: x", exchange.ErrClientMismatch), "Client.InvalidClientIdentifier"},
		{fmt.Errorf("%w: x", exchange.ErrConfig), "Server.ClientProxy.MalformedServerConf"},
		{&exchange.RemoteError{Code: "access_denied"}, "Server.ServerProxy.AccessDenied"},
	} {
		rec := httptest.NewRecorder()
		a.soapFail(rec, "1.1", "", "", tc.err)
		var f soapFaultBody
		if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil || f.Fault.FaultCode == "" ||
			rec.Header().Get(HeaderXRoadError) != tc.typ || rec.Header().Get(HeaderError) == "" {
			t.Errorf("%v: %v %s", tc.err, rec.Header(), rec.Body)
		}
	}
}
