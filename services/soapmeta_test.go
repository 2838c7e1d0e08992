package services

import (
	"encoding/xml"
	"strings"
	"testing"
)

// TestSOAPMethodsResponse: the SOAP listMethods / allowedMethods answer
// of X-Road's Service Metadata Protocol (§3, MethodListType; examples C.3
// and C.5): the request's header echoed, and <xrd:listMethodsResponse>
// holding one SERVICE identifier per service, serviceVersion only when
// there is one; SOAP 1.2 requests get a SOAP 1.2 envelope. ParseSOAP
// reads the echoed header back.
func TestSOAPMethodsResponse(t *testing.T) {
	h := SOAPHeader{Version: "1.1", Client: "VN/GOV/A/IS", Service: "VN/GOV/B/SVC/listMethods", ID: "id-1", ProtocolVersion: "4.0", UserID: "u<1>"}
	a, _ := ParseServiceID("VN/GOV/B/SVC/pets/v1")
	b, _ := ParseServiceID("VN/GOV/B/SVC/plain")
	ctype, body := SOAPMethodsResponse(h, "listMethods", []ServiceID{a, b})
	if ctype != "text/xml; charset=utf-8" {
		t.Fatal(ctype)
	}
	var env struct {
		Body struct {
			Resp struct {
				Service []struct {
					ObjectType string `xml:"http://x-road.eu/xsd/identifiers objectType,attr"`
					Instance   string `xml:"http://x-road.eu/xsd/identifiers xRoadInstance"`
					Class      string `xml:"http://x-road.eu/xsd/identifiers memberClass"`
					Member     string `xml:"http://x-road.eu/xsd/identifiers memberCode"`
					Subsystem  string `xml:"http://x-road.eu/xsd/identifiers subsystemCode"`
					Code       string `xml:"http://x-road.eu/xsd/identifiers serviceCode"`
					Version    string `xml:"http://x-road.eu/xsd/identifiers serviceVersion"`
				} `xml:"http://x-road.eu/xsd/xroad.xsd service"`
			} `xml:"http://x-road.eu/xsd/xroad.xsd listMethodsResponse"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	s := env.Body.Resp.Service
	if len(s) != 2 || s[0].ObjectType != "SERVICE" || s[0].Instance != "VN" || s[0].Class != "GOV" || s[0].Member != "B" ||
		s[0].Subsystem != "SVC" || s[0].Code != "pets" || s[0].Version != "v1" || s[1].Code != "plain" || s[1].Version != "" ||
		strings.Count(string(body), "serviceVersion") != 2 {
		t.Fatalf("%+v\n%s", s, body)
	}
	back, err := ParseSOAP(ctype, body)
	if err != nil || back.Client != h.Client || back.Service != h.Service || back.ID != h.ID || back.UserID != h.UserID || back.ProtocolVersion != "4.0" {
		t.Fatalf("header echoed: %+v %v", back, err)
	}

	h.Version = "1.2"
	ctype, body = SOAPMethodsResponse(h, "allowedMethods", nil)
	if back, err := ParseSOAP(ctype, body); err != nil || back.Version != "1.2" || !strings.Contains(string(body), "<xrd:allowedMethodsResponse></xrd:allowedMethodsResponse>") {
		t.Fatalf("%q %v\n%s", ctype, err, body)
	}
}
