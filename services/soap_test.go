package services

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/testutil"
)

const soapClient = `<xrd:client iden:objectType="SUBSYSTEM">
      <iden:xRoadInstance>VN</iden:xRoadInstance>
      <iden:memberClass>GOV</iden:memberClass>
      <iden:memberCode>C01</iden:memberCode>
      <iden:subsystemCode>app</iden:subsystemCode>
    </xrd:client>`

const soapService = `<xrd:service iden:objectType="SERVICE">
      <iden:xRoadInstance>VN</iden:xRoadInstance>
      <iden:memberClass>GOV</iden:memberClass>
      <iden:memberCode>H01</iden:memberCode>
      <iden:subsystemCode>hr</iden:subsystemCode>
      <iden:serviceCode>getPerson</iden:serviceCode>
      <iden:serviceVersion>v1</iden:serviceVersion>
    </xrd:service>`

// soapMsg builds a SOAP message with the given header content.
func soapMsg(version, header string) string {
	ns := SOAP11Namespace
	if version == "1.2" {
		ns = SOAP12Namespace
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<env:Envelope xmlns:env="` + ns + `" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" xmlns:iden="http://x-road.eu/xsd/identifiers">
  <env:Header>
    ` + header + `
  </env:Header>
  <env:Body><getPerson xmlns="urn:x"><id>42</id></getPerson></env:Body>
</env:Envelope>`
}

func fullHeader() string {
	return soapClient + soapService + `<xrd:id>msg-1</xrd:id><xrd:userId>EE123</xrd:userId><xrd:protocolVersion>4.0</xrd:protocolVersion>`
}

func TestIsSOAP(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/xml":                             true,
		"text/xml; charset=utf-8":              true,
		"TEXT/XML":                             true,
		"application/soap+xml; action=\"urn\"": true,
		"application/xml":                      false,
		"application/json":                     false,
		"":                                     false,
		"text/xml; charset":                    false,
	} {
		if IsSOAP(ct) != want {
			t.Errorf("IsSOAP(%q) != %v", ct, want)
		}
	}
}

func TestParseSOAP(t *testing.T) {
	want := SOAPHeader{Client: "VN/GOV/C01/app", Service: "VN/GOV/H01/hr/getPerson/v1", ID: "msg-1", UserID: "EE123", ProtocolVersion: "4.0"}
	for _, c := range []struct{ version, ct string }{{"1.1", "text/xml; charset=utf-8"}, {"1.2", "application/soap+xml"}} {
		got, err := ParseSOAP(c.ct, []byte(soapMsg(c.version, fullHeader())))
		w := want
		w.Version = c.version
		if err != nil || got != w {
			t.Fatalf("SOAP %s: %+v, %v", c.version, got, err)
		}
	}
	// Unversioned service, other headers skipped, optional fields absent,
	// different prefixes, body past MaxSOAPHeader never read.
	msg := `<s:Envelope xmlns:s="` + SOAP11Namespace + `"><s:Header>
<x:other xmlns:x="urn:other"><x:deep><x:deeper/></x:deep></x:other>
<a:issue xmlns:a="http://x-road.eu/xsd/xroad.xsd">ISSUE-1</a:issue>
<a:client xmlns:a="http://x-road.eu/xsd/xroad.xsd" xmlns:i="http://x-road.eu/xsd/identifiers" i:objectType="SUBSYSTEM"><i:xRoadInstance>VN</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>C01</i:memberCode><i:subsystemCode>app</i:subsystemCode></a:client>
<a:service xmlns:a="http://x-road.eu/xsd/xroad.xsd" xmlns:i="http://x-road.eu/xsd/identifiers" i:objectType="SERVICE"><i:xRoadInstance>VN</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>H01</i:memberCode><i:subsystemCode>hr</i:subsystemCode><i:serviceCode>list</i:serviceCode></a:service>
<a:id xmlns:a="http://x-road.eu/xsd/xroad.xsd"> id&amp;1 </a:id>
</s:Header><s:Body>` + strings.Repeat("<x>", MaxSOAPHeader) + `</s:Body></s:Envelope>`
	got, err := ParseSOAP("text/xml", []byte(msg))
	if err != nil || got != (SOAPHeader{Version: "1.1", Client: "VN/GOV/C01/app", Service: "VN/GOV/H01/hr/list", ID: "id&1"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestParseSOAPRefuses(t *testing.T) {
	replace := func(old, new string) string { return soapMsg("1.1", strings.Replace(fullHeader(), old, new, 1)) }
	tests := map[string]struct{ ct, body, want string }{
		"not soap type":    {"application/json", soapMsg("1.1", fullHeader()), "not SOAP"},
		"1.2 body as 1.1":  {"text/xml", soapMsg("1.2", fullHeader()), "Envelope"},
		"1.1 body as 1.2":  {"application/soap+xml", soapMsg("1.1", fullHeader()), "Envelope"},
		"plain xml":        {"text/xml", `<order><id>1</id></order>`, "Envelope"},
		"empty":            {"text/xml", ``, "truncated"},
		"garbage":          {"text/xml", `{"json":true}`, "envelope"},
		"truncated":        {"text/xml", soapMsg("1.1", fullHeader())[:300], "truncated"},
		"doctype":          {"text/xml", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>` + soapMsg("1.1", fullHeader())[len(`<?xml version="1.0" encoding="UTF-8"?>`):], "DOCTYPE"},
		"entity":           {"text/xml", replace("msg-1", "&a;"), "xrd:id"},
		"no header":        {"text/xml", `<e:Envelope xmlns:e="` + SOAP11Namespace + `"><e:Body/></e:Envelope>`, "no SOAP Header"},
		"no client":        {"text/xml", replace(soapClient, ""), "missing xrd:client"},
		"no service":       {"text/xml", replace(soapService, ""), "missing xrd:service"},
		"no id":            {"text/xml", replace("<xrd:id>msg-1</xrd:id>", ""), "missing xrd:id"},
		"empty id":         {"text/xml", replace("<xrd:id>msg-1</xrd:id>", "<xrd:id> </xrd:id>"), "missing xrd:id"},
		"member client":    {"text/xml", replace(`objectType="SUBSYSTEM"`, `objectType="MEMBER"`), "subsystem"},
		"no subsystem":     {"text/xml", replace("<iden:subsystemCode>app</iden:subsystemCode>", ""), "subsystem"},
		"bad part":         {"text/xml", replace("<iden:memberCode>C01</iden:memberCode>", "<iden:memberCode>C 01</iden:memberCode>"), "C 01"},
		"slash in part":    {"text/xml", replace("<iden:memberCode>C01</iden:memberCode>", "<iden:memberCode>C/01</iden:memberCode>"), "iden:memberCode"},
		"shifted parts":    {"text/xml", replace(soapService, `<xrd:service iden:objectType="SERVICE"><iden:xRoadInstance>VN</iden:xRoadInstance><iden:memberClass>GOV</iden:memberClass><iden:memberCode>H01</iden:memberCode><iden:subsystemCode>hr/getPerson</iden:subsystemCode><iden:serviceCode>v1</iden:serviceCode></xrd:service>`), "iden:subsystemCode"},
		"missing part":     {"text/xml", replace("<iden:memberClass>GOV</iden:memberClass>", ""), "memberClass"},
		"extra part":       {"text/xml", replace("<iden:memberClass>GOV</iden:memberClass>", "<iden:memberClass>GOV</iden:memberClass><iden:foo>x</iden:foo>"), "unexpected"},
		"dup part":         {"text/xml", replace("<iden:memberClass>GOV</iden:memberClass>", "<iden:memberClass>GOV</iden:memberClass><iden:memberClass>GOV</iden:memberClass>"), "twice"},
		"no service code":  {"text/xml", replace("<iden:serviceCode>getPerson</iden:serviceCode>", ""), "serviceCode"},
		"service type":     {"text/xml", replace(`objectType="SERVICE"`, `objectType="CENTRALSERVICE"`), "objectType"},
		"dup client":       {"text/xml", replace(soapClient, soapClient+soapClient), "twice"},
		"element in id":    {"text/xml", replace("msg-1", "<b>x</b>"), "unexpected element"},
		"text in header":   {"text/xml", replace(soapClient, "hello"+soapClient), "unexpected text"},
		"unclosed":         {"text/xml", replace("</xrd:id>", "</xrd:idx>"), "xrd:id"},
		"header too large": {"text/xml", replace(soapClient, "<x:pad xmlns:x=\"urn:x\">"+strings.Repeat("a", MaxSOAPHeader)+"</x:pad>"+soapClient), "longer than"},
	}
	for name, tt := range tests {
		_, err := ParseSOAP(tt.ct, []byte(tt.body))
		if !errors.Is(err, ErrSOAP) || Codes.Code(err) != "invalid_soap" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want ErrSOAP containing %q", name, err, tt.want)
		}
	}
}

func TestSOAPFault(t *testing.T) {
	for _, version := range []string{"1.1", "1.2", ""} {
		ct, body := SOAPFault(version, false, "access_denied", `client <VN/GOV/C01/app> & "friends"`)
		wantNS, wantCT := SOAP11Namespace, "text/xml"
		if version == "1.2" {
			wantNS, wantCT = SOAP12Namespace, "application/soap+xml"
		}
		if !strings.HasPrefix(ct, wantCT+";") || !IsSOAP(ct) {
			t.Fatalf("%q: content type %q", version, ct)
		}
		var env struct {
			XMLName xml.Name
			Fault   struct {
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
		if err := xml.Unmarshal(body, &env); err != nil {
			t.Fatalf("%q: not well-formed: %v\n%s", version, err, body)
		}
		if env.XMLName.Space != wantNS || env.XMLName.Local != "Envelope" {
			t.Fatalf("%q: root %v", version, env.XMLName)
		}
		msg, code := env.Fault.FaultString, env.Fault.FaultCode
		if version == "1.2" {
			msg, code = env.Fault.Reason, env.Fault.Code.Value+" "+env.Fault.Code.Subcode.Value
		}
		if msg != `client <VN/GOV/C01/app> & "friends"` {
			t.Errorf("%q: message %q", version, msg)
		}
		if want := map[bool]string{false: "SOAP-ENV:Server.access_denied", true: "env:Receiver dxl:access_denied"}[version == "1.2"]; code != want {
			t.Errorf("%q: code %q, want %q", version, code, want)
		}
		// A fault is not a request: ParseSOAP refuses it cleanly.
		if _, err := ParseSOAP(ct, body); !errors.Is(err, ErrSOAP) {
			t.Errorf("%q: ParseSOAP(fault) = %v", version, err)
		}
	}
	for _, c := range [][2]string{{"", "SOAP-ENV:Server<"}, {"a b<c>", "SOAP-ENV:Server.a_b_c_<"}, {"1x", "SOAP-ENV:Server._1x<"}} {
		_, body := SOAPFault("1.1", false, c[0], "m\x00")
		if !bytes.Contains(body, []byte(c[1])) {
			t.Errorf("code %q: %s", c[0], body)
		}
		if err := xml.Unmarshal(body, new(struct{})); err != nil {
			t.Errorf("code %q: %v", c[0], err)
		}
	}
	if _, body := SOAPFault("1.2", false, "", "m"); bytes.Contains(body, []byte("Subcode")) {
		t.Errorf("empty code has a subcode: %s", body)
	}
	// A client's fault: Client (1.1) and Sender (1.2).
	if _, body := SOAPFault("1.1", true, "invalid_soap", "m"); !bytes.Contains(body, []byte("<faultcode>SOAP-ENV:Client.invalid_soap</faultcode>")) {
		t.Errorf("1.1 client fault: %s", body)
	}
	if _, body := SOAPFault("1.2", true, "invalid_soap", "m"); !bytes.Contains(body, []byte("<env:Value>env:Sender</env:Value><env:Subcode>")) ||
		!bytes.Contains(body, []byte("dxl:invalid_soap")) {
		t.Errorf("1.2 client fault: %s", body)
	}
}

// soapBases are the messages FuzzParseSOAP splices into; base 0 is empty,
// so (ct, 0, 0, 0, body) is body itself.
func soapBases() [][]byte {
	v11, v12 := soapMsg("1.1", fullHeader()), soapMsg("1.2", fullHeader())
	return [][]byte{
		nil,
		[]byte(v11),
		[]byte(v12),
		[]byte(`<!DOCTYPE x>` + v11),
		[]byte(strings.Replace(v11, `objectType="SUBSYSTEM"`, `objectType="MEMBER"`, 1)),
	}
}

// soapSeeds are FuzzParseSOAP's committed seeds (TestWriteSOAPFuzzSeeds).
var soapSeeds = map[string]struct {
	ct string
	s  testutil.SpliceSeed
}{
	"seed-valid-11":         {"text/xml", testutil.SpliceSeed{Base: 1}},
	"seed-valid-12":         {"application/soap+xml", testutil.SpliceSeed{Base: 2}},
	"seed-version-mismatch": {"application/soap+xml", testutil.SpliceSeed{Base: 1}},
	"seed-doctype":          {"text/xml", testutil.SpliceSeed{Base: 3}},
	"seed-member-client":    {"text/xml", testutil.SpliceSeed{Base: 4}},
	"seed-truncated":        {"text/xml", testutil.SpliceSeed{Base: 1, At: 400, Del: 60000}},
	"seed-garbage":          {"text/xml", testutil.SpliceSeed{Ins: []byte("\x00\xff<<>>&&;{\"a\":1}")}},
}

// FuzzParseSOAP checks that ParseSOAP never panics, that every error wraps
// ErrSOAP and that an accepted header carries valid identifiers. The body
// is Splice(soapBases()[base], at, del, ins): the fuzzer mutates a few
// bytes of whole messages, not the messages themselves.
// Seeds: soapSeeds, committed in testdata/fuzz/FuzzParseSOAP.
func FuzzParseSOAP(f *testing.F) {
	bases := soapBases()
	for _, s := range soapSeeds {
		f.Add(s.ct, s.s.Base, s.s.At, s.s.Del, s.s.Ins)
	}
	f.Fuzz(func(t *testing.T, ct string, base, at, del uint16, ins []byte) {
		body := testutil.Splice(bases[int(base)%len(bases)], int(at), int(del), ins)
		h, err := ParseSOAP(ct, body)
		if err != nil {
			if !errors.Is(err, ErrSOAP) {
				t.Fatalf("error %v does not wrap ErrSOAP", err)
			}
			return
		}
		if h.Version != soapVersion(ct) || h.ID == "" {
			t.Fatalf("bad header %+v", h)
		}
		if _, err := ParseSubsystemID(h.Client); err != nil {
			t.Fatalf("client: %v", err)
		}
		if _, err := ParseServiceID(h.Service); err != nil {
			t.Fatalf("service: %v", err)
		}
	})
}

// TestWriteSOAPFuzzSeeds rewrites testdata/fuzz/FuzzParseSOAP when
// DXL_WRITE_FUZZ_SEEDS=1.
func TestWriteSOAPFuzzSeeds(t *testing.T) {
	if os.Getenv("DXL_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set DXL_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzParseSOAP")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseSOAP")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range soapSeeds {
		data := fmt.Sprintf("go test fuzz v1\nstring(%q)\nuint16(%d)\nuint16(%d)\nuint16(%d)\n[]byte(%q)\n", s.ct, s.s.Base, s.s.At, s.s.Del, s.s.Ins)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
