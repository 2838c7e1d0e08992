package services

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
)

const testWSDL = `<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:s12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:other="urn:other">
  <wsdl:service name="s">
    <wsdl:port name="p1"><soap:address location="http://10.0.0.5:8080/secret"/></wsdl:port>
    <wsdl:port name="p2"><s12:address  location = 'https://backend.internal/x' /></wsdl:port>
    <wsdl:port name="p3"><other:address location="urn:kept"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>`

// TestPrepareWSDL: getWsdl's "WSDL-information modifications" (X-Road
// Service Metadata Protocol §4): the location of every SOAP 1.1 and 1.2
// address becomes HiddenEndpoint and nothing else changes; a WSDL 2.0
// endpoint's address too; what is not a WSDL is refused.
func TestPrepareWSDL(t *testing.T) {
	out, err := PrepareWSDL([]byte(testWSDL))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.NewReplacer(`location="http://10.0.0.5:8080/secret"`, `location="`+HiddenEndpoint+`"`,
		`location = 'https://backend.internal/x'`, `location = "`+HiddenEndpoint+`"`).Replace(testWSDL)
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	w2 := `<description xmlns="http://www.w3.org/ns/wsdl"><service name="s" interface="i"><endpoint name="e" binding="b" address="http://in/side"/></service></description>`
	if out, err := PrepareWSDL([]byte(w2)); err != nil || !strings.Contains(string(out), `address="`+HiddenEndpoint+`"`) || strings.Contains(string(out), "in/side") {
		t.Fatalf("WSDL 2.0: %s %v", out, err)
	}
	for name, in := range map[string]string{
		"empty":        "",
		"not XML":      "{}",
		"not WSDL":     `<definitions xmlns="urn:x"/>`,
		"OpenAPI-ish":  `<openapi/>`,
		"DOCTYPE":      `<!DOCTYPE d [<!ENTITY x "y">]><wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"/>`,
		"unclosed":     `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"><wsdl:service>`,
		"trailing tag": `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"/></x>`,
		"too large":    `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">` + strings.Repeat(" ", MaxWSDL) + `</wsdl:definitions>`,
	} {
		if _, err := PrepareWSDL([]byte(in)); !errors.Is(err, ErrInvalidDescription) {
			t.Errorf("%s: %v, want ErrInvalidDescription", name, err)
		}
	}
}

const soapTestBody = `<getPerson xmlns="urn:x"><id>42</id></getPerson>`

func getWsdlMsg(body string) []byte {
	return []byte(strings.Replace(soapMsg("1.1", fullHeader()), soapTestBody, body, 1))
}

// TestParseGetWsdl: the getWsdl request body (§4): xrd:getWsdl with a
// mandatory serviceCode and an optional serviceVersion, nothing else.
func TestParseGetWsdl(t *testing.T) {
	if !strings.Contains(soapMsg("1.1", fullHeader()), soapTestBody) {
		t.Fatal("soapMsg changed: the test puts getWsdl bodies in place of its body element")
	}
	r, err := ParseGetWsdl("text/xml", getWsdlMsg(`<xrd:getWsdl><xrd:serviceCode>getRandom</xrd:serviceCode><xrd:serviceVersion>v1</xrd:serviceVersion></xrd:getWsdl>`))
	if err != nil || r.ServiceCode != "getRandom" || r.ServiceVersion != "v1" || r.Header.ID == "" {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := ParseGetWsdl("text/xml", getWsdlMsg(`<xrd:getWsdl><xrd:serviceCode> x </xrd:serviceCode></xrd:getWsdl>`)); err != nil || r.ServiceCode != "x" || r.ServiceVersion != "" {
		t.Fatalf("%+v %v", r, err)
	}
	for name, body := range map[string]string{
		"no serviceCode": `<xrd:getWsdl/>`,
		"empty code":     `<xrd:getWsdl><xrd:serviceCode></xrd:serviceCode></xrd:getWsdl>`,
		"repeated":       `<xrd:getWsdl><xrd:serviceCode>a</xrd:serviceCode><xrd:serviceCode>b</xrd:serviceCode></xrd:getWsdl>`,
		"unknown child":  `<xrd:getWsdl><xrd:serviceCode>a</xrd:serviceCode><xrd:x/></xrd:getWsdl>`,
		"other element":  `<xrd:listMethods/>`,
		"wrong ns":       `<getWsdl xmlns="urn:x"><serviceCode>a</serviceCode></getWsdl>`,
		"empty body":     ``,
		"nested code":    `<xrd:getWsdl><xrd:serviceCode><b>a</b></xrd:serviceCode></xrd:getWsdl>`,
	} {
		if _, err := ParseGetWsdl("text/xml", getWsdlMsg(body)); !errors.Is(err, ErrSOAP) {
			t.Errorf("%s: %v, want ErrSOAP", name, err)
		}
	}
	if _, err := ParseGetWsdl("application/json", getWsdlMsg(`<xrd:getWsdl><xrd:serviceCode>a</xrd:serviceCode></xrd:getWsdl>`)); !errors.Is(err, ErrSOAP) {
		t.Errorf("JSON content type: %v", err)
	}
}

// TestGetWsdlResponse: the answer is multipart/related (§4, Annex C.7
// and C.8): the SOAP response first, as the start part, echoing the
// header and naming the service, then the WSDL as it was given.
func TestGetWsdlResponse(t *testing.T) {
	req, err := ParseGetWsdl("text/xml", getWsdlMsg(`<xrd:getWsdl><xrd:serviceCode>a&amp;b</xrd:serviceCode><xrd:serviceVersion>v1</xrd:serviceVersion></xrd:getWsdl>`))
	if err != nil {
		t.Fatal(err)
	}
	ctype, body := GetWsdlResponse(req, []byte(testWSDL))
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/related" || params["type"] != "text/xml" || params["start"] != "<rootpart@dxl>" {
		t.Fatalf("%q %v", ctype, err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var parts [][]byte
	var ids []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts, ids = append(parts, b), append(ids, p.Header.Get("Content-Id"))
	}
	if len(parts) != 2 || ids[0] != "<rootpart@dxl>" || string(parts[1]) != testWSDL {
		t.Fatalf("%d parts %v", len(parts), ids)
	}
	h, err := ParseSOAP("text/xml", parts[0])
	if err != nil || h.ID != req.Header.ID || h.Client != req.Header.Client {
		t.Fatalf("%+v %v\n%s", h, err, parts[0])
	}
	if s := string(parts[0]); !strings.Contains(s, "<xrd:getWsdlResponse><xrd:serviceCode>a&amp;b</xrd:serviceCode><xrd:serviceVersion>v1</xrd:serviceVersion></xrd:getWsdlResponse>") {
		t.Fatal(s)
	}
}

// FuzzPrepareWSDL: PrepareWSDL never panics, every error wraps
// ErrInvalidDescription, and what it accepts it accepts again unchanged
// (hiding the endpoints is idempotent).
func FuzzPrepareWSDL(f *testing.F) {
	f.Add([]byte(testWSDL))
	f.Add([]byte(`<description xmlns="http://www.w3.org/ns/wsdl"><endpoint address='x'/></description>`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := PrepareWSDL(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidDescription) {
				t.Fatalf("%v does not wrap ErrInvalidDescription", err)
			}
			return
		}
		again, err := PrepareWSDL(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %v\n%q\n%q", err, out, again)
		}
	})
}
