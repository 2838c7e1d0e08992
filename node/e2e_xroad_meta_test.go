package node_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/services"
)

// TestEndToEndXRoadRESTMetaservices calls the REST metaservices through
// A's consumer API to B's provider subsystem, as an X-Road REST client
// would (GET /r1/INSTANCE/CLASS/MEMBER/SUBSYSTEM/<metaservice>).
func TestEndToEndXRoadRESTMetaservices(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	base := "https://" + n.A.Node.APIAddr() + "/r1/" + n.SubsystemID(devnet.AgencyB) + "/"
	member := strings.Split(n.SubsystemID(devnet.AgencyB), "/")

	// Service Metadata Protocol for REST §4 and example B.1: listMethods is
	// application/json, a "service" list of SERVICE identifiers of the
	// provider subsystem with service_type and endpoint_list; the OpenAPI
	// service lists its description's operations.
	t.Run("ListMethods", func(t *testing.T) {
		a := do(t, c, "GET", base+"listMethods", "", nil)
		var got struct {
			Service []map[string]json.RawMessage `json:"service"`
		}
		if err := json.Unmarshal(a.body, &got); err != nil || a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %q %s", a.status, a.header.Get("Content-Type"), a.body)
		}
		var pop, soap map[string]json.RawMessage
		for _, s := range got.Service {
			switch string(s["service_code"]) {
			case `"` + devnet.SampleServiceCode + `"`:
				pop = s
			case `"` + devnet.SampleSOAPCode + `"`:
				soap = s
			}
			if _, ok := s["endpoints"]; ok {
				t.Errorf("old field endpoints: %s", a.body)
			}
		}
		want := map[string]string{"object_type": `"SERVICE"`, "xroad_instance": `"` + member[0] + `"`, "member_class": `"` + member[1] + `"`,
			"member_code": `"` + member[2] + `"`, "subsystem_code": `"` + member[3] + `"`, "service_type": `"OPENAPI"`,
			"endpoint_list": `[{"method":"POST","path":"/citizens"},{"method":"GET","path":"/citizens/*"},{"method":"POST","path":"/echo"},{"method":"GET","path":"/headers"}]`}
		for k, v := range want {
			if string(pop[k]) != v {
				t.Errorf("%s = %s, want %s (%s)", k, pop[k], v, a.body)
			}
		}
		// A SOAP service with a WSDL is typed WSDL, as in X-Road.
		if string(soap["service_type"]) != `"WSDL"` {
			t.Errorf("SOAP service: %s", a.body)
		}
		if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json; charset=utf-8") {
			t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
		}
	})

	// §4 and example B.2: allowedMethods has the same shape and lists what
	// A's client may call: the whole population service, granted to it.
	t.Run("AllowedMethods", func(t *testing.T) {
		a := do(t, c, "GET", base+"allowedMethods", "", nil)
		var ml node.MethodList
		if err := json.Unmarshal(a.body, &ml); err != nil || a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		found := false
		for _, s := range ml.Service {
			if s.ServiceCode == devnet.SampleServiceCode {
				found = len(s.EndpointList) == 1 && s.EndpointList[0].Method == "*" && s.EndpointList[0].Path == "/**"
			}
		}
		if !found || !strings.Contains(string(a.body), `"endpoint_list":[{"method":"*","path":"/**"}]`) {
			t.Fatalf("%s", a.body)
		}
	})

	// §5 and Annex A: getOpenAPI?serviceCode= answers the description, a
	// JSON one as application/json; without serviceCode, or with an empty
	// one, the request is in error (400).
	t.Run("GetOpenAPI", func(t *testing.T) {
		a := do(t, c, "GET", base+"getOpenAPI?serviceCode="+devnet.SampleServiceCode, "", nil)
		if a.status != 200 || a.header.Get("Content-Type") != "application/json; charset=utf-8" || string(a.body) != devnet.SampleOpenAPI {
			t.Fatalf("%d %q %.60s", a.status, a.header.Get("Content-Type"), a.body)
		}
		exchangeError(t, do(t, c, "GET", base+"getOpenAPI", "", nil), 400, "bad_request")
		exchangeError(t, do(t, c, "GET", base+"getOpenAPI?serviceCode=", "", nil), 400, "bad_request")
		exchangeError(t, do(t, c, "GET", base+"getOpenAPI?serviceCode=nosuch", "", nil), 404, "unknown_service")
	})
}

// TestEndToEndXRoadListClients checks GET /listClients on A's consumer
// API against X-Road's Service Metadata Protocol §2.
func TestEndToEndXRoadListClients(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	u := "https://" + n.A.Node.APIAddr() + "/listClients"
	b := strings.Split(n.SubsystemID(devnet.AgencyB), "/")

	// §2, Annex B (OpenAPI definition) and example C.1 JSON Response: with
	// Accept: application/json, member entries with an id object and the
	// member's name; B's provider subsystem is one of them.
	t.Run("JSON", func(t *testing.T) {
		a := do(t, c, "GET", u, "", nil, "Accept", "application/json")
		var l node.ClientList
		if err := json.Unmarshal(a.body, &l); err != nil || a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
			t.Fatalf("%d %s", a.status, a.body)
		}
		want := node.ClientEntry{Name: devnet.AgencyB.Name, ID: node.ClientID{ObjectType: "SUBSYSTEM",
			XRoadInstance: b[0], MemberClass: b[1], MemberCode: b[2], SubsystemCode: b[3]}}
		found := false
		for _, m := range l.Member {
			found = found || m == want
		}
		if !found {
			t.Fatalf("no %+v in %s", want, a.body)
		}
	})

	// §2, Annex A and example C.1 XML Response: without Accept:
	// application/json the answer is text/xml, the clientList element.
	t.Run("XMLByDefault", func(t *testing.T) {
		a := do(t, c, "GET", u, "", nil)
		var l struct {
			XMLName xml.Name `xml:"http://x-road.eu/xsd/xroad.xsd clientList"`
			Member  []struct {
				ID struct {
					ObjectType string `xml:"http://x-road.eu/xsd/identifiers objectType,attr"`
					Subsystem  string `xml:"http://x-road.eu/xsd/identifiers subsystemCode"`
				} `xml:"http://x-road.eu/xsd/xroad.xsd id"`
				Name string `xml:"http://x-road.eu/xsd/xroad.xsd name"`
			} `xml:"http://x-road.eu/xsd/xroad.xsd member"`
		}
		if err := xml.Unmarshal(a.body, &l); err != nil || a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/xml") {
			t.Fatalf("%v %d %q %s", err, a.status, a.header.Get("Content-Type"), a.body)
		}
		found := false
		for _, m := range l.Member {
			found = found || m.ID.ObjectType == "SUBSYSTEM" && m.ID.Subsystem == b[3] && m.Name == devnet.AgencyB.Name
		}
		if !found {
			t.Fatalf("%s", a.body)
		}
	})
}

// TestEndToEndXRoadSOAPMetaservices: a SOAP listMethods, allowedMethods
// and getWsdl request (X-Road Service Metadata Protocol §3 and §4,
// examples C.3 to C.8)
// through two nodes is answered in SOAP with the provider's services, the
// request's header echoed.
func TestEndToEndXRoadSOAPMetaservices(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	cp := strings.Split(n.ClientA, "/")
	pp := strings.Split(n.SubsystemID(devnet.AgencyB), "/")
	soap := func(op, body string) answer {
		env := `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:id="http://x-road.eu/xsd/identifiers">
<SOAP-ENV:Header>
<xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>` + cp[0] + `</id:xRoadInstance><id:memberClass>` + cp[1] + `</id:memberClass><id:memberCode>` + cp[2] + `</id:memberCode><id:subsystemCode>` + cp[3] + `</id:subsystemCode></xrd:client>
<xrd:service id:objectType="SERVICE"><id:xRoadInstance>` + pp[0] + `</id:xRoadInstance><id:memberClass>` + pp[1] + `</id:memberClass><id:memberCode>` + pp[2] + `</id:memberCode><id:subsystemCode>` + pp[3] + `</id:subsystemCode><id:serviceCode>` + op + `</id:serviceCode></xrd:service>
<xrd:id>meta-` + op + `-` + envelope.NewRequestID().String() + `</xrd:id><xrd:protocolVersion>4.0</xrd:protocolVersion>
</SOAP-ENV:Header>
<SOAP-ENV:Body>` + body + `</SOAP-ENV:Body>
</SOAP-ENV:Envelope>`
		return do(t, c, "POST", "https://"+n.A.Node.APIAddr()+"/soap", "text/xml; charset=utf-8", []byte(env))
	}
	for _, op := range []string{"listMethods", "allowedMethods"} {
		a := soap(op, `<xrd:`+op+`/>`)
		body := string(a.body)
		if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/xml") ||
			!strings.Contains(body, op+"Response") || !strings.Contains(body, "<xrd:id>meta-"+op+"-") ||
			!strings.Contains(body, devnet.SampleServiceCode) || !strings.Contains(body, devnet.SampleSOAPCode) {
			t.Fatalf("SOAP %s: %d %v %s", op, a.status, a.header, body)
		}
	}

	// §4: getWsdl answers multipart/related, the SOAP response first and
	// the WSDL attached, its endpoint address hidden.
	a := soap("getWsdl", `<xrd:getWsdl><xrd:serviceCode>`+devnet.SampleSOAPCode+`</xrd:serviceCode><xrd:serviceVersion>v1</xrd:serviceVersion></xrd:getWsdl>`)
	mt, params, err := mime.ParseMediaType(a.header.Get("Content-Type"))
	if a.status != 200 || err != nil || mt != "multipart/related" {
		t.Fatalf("getWsdl: %d %v %s", a.status, a.header, a.body)
	}
	mr := multipart.NewReader(bytes.NewReader(a.body), params["boundary"])
	var parts []string
	for p, err := mr.NextPart(); err == nil; p, err = mr.NextPart() {
		b, _ := io.ReadAll(p)
		parts = append(parts, string(b))
	}
	if len(parts) != 2 || !strings.Contains(parts[0], "<xrd:getWsdlResponse><xrd:serviceCode>"+devnet.SampleSOAPCode) ||
		!strings.Contains(parts[1], `location="`+services.HiddenEndpoint+`"`) || strings.Contains(parts[1], n.BackendURL) ||
		!strings.Contains(parts[1], `<wsdl:operation name="getCitizen">`) {
		t.Fatalf("getWsdl parts: %q", parts)
	}
	for name, body := range map[string]string{
		"unknown service": `<xrd:getWsdl><xrd:serviceCode>nope</xrd:serviceCode></xrd:getWsdl>`,
		"no WSDL":         `<xrd:getWsdl><xrd:serviceCode>` + devnet.SampleServiceCode + `</xrd:serviceCode></xrd:getWsdl>`,
		"no serviceCode":  `<xrd:getWsdl/>`,
	} {
		if a := soap("getWsdl", body); a.status < 400 || !strings.Contains(string(a.body), "Fault") {
			t.Errorf("getWsdl %s: %d %s", name, a.status, a.body)
		}
	}
}
