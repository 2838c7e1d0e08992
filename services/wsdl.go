package services

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"regexp"
)

// WSDL namespaces: WSDL 1.1 and 2.0 roots, and the SOAP 1.1 and 1.2
// bindings whose address elements carry a service's endpoint.
const (
	wsdl11Namespace = "http://schemas.xmlsoap.org/wsdl/"
	wsdl20Namespace = "http://www.w3.org/ns/wsdl"
	wsdlSOAP11      = "http://schemas.xmlsoap.org/wsdl/soap/"
	wsdlSOAP12      = "http://schemas.xmlsoap.org/wsdl/soap12/"
)

// HiddenEndpoint replaces every endpoint address of a WSDL served by
// getWsdl (X-Road Service Metadata Protocol §4, "WSDL-information
// modifications"): the provider's backend stays unknown to its clients.
const HiddenEndpoint = "http://example.org/xroad-endpoint"

// MaxWSDL caps a WSDL file.
const MaxWSDL = 4 << 20

// Endpoint attributes: location of a WSDL 1.1 SOAP address, address of a
// WSDL 2.0 endpoint.
var (
	locationAttr = regexp.MustCompile(`(\blocation\s*=\s*)("[^"]*"|'[^']*')`)
	addressAttr  = regexp.MustCompile(`(\baddress\s*=\s*)("[^"]*"|'[^']*')`)
)

// PrepareWSDL checks that raw is a WSDL 1.1 or 2.0 document (well-formed
// XML, no DOCTYPE, root wsdl:definitions or wsdl:description in its
// namespace) and returns it with every endpoint address (the location of
// a SOAP 1.1 or 1.2 binding's address element, the address of a WSDL 2.0
// endpoint) replaced by HiddenEndpoint, all other bytes as they were.
// Errors wrap ErrInvalidDescription.
func PrepareWSDL(raw []byte) ([]byte, error) {
	if len(raw) > MaxWSDL {
		return nil, fmt.Errorf("%w: WSDL over %d bytes", ErrInvalidDescription, MaxWSDL)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	d.Strict = true
	var out bytes.Buffer
	var last int64
	root := true
	for {
		prev := d.InputOffset()
		t, err := d.Token()
		if errors.Is(err, io.EOF) && !root {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: WSDL: %v", ErrInvalidDescription, err)
		}
		switch t := t.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: WSDL: DOCTYPE and other directives are not allowed", ErrInvalidDescription)
		case xml.StartElement:
			if root {
				root = false
				if ns := t.Name.Space; !(ns == wsdl11Namespace && t.Name.Local == "definitions" || ns == wsdl20Namespace && t.Name.Local == "description") {
					return nil, fmt.Errorf("%w: WSDL root element is {%s}%s, not WSDL 1.1 definitions or 2.0 description", ErrInvalidDescription, ns, t.Name.Local)
				}
			}
			var attr *regexp.Regexp
			switch {
			case t.Name.Local == "address" && (t.Name.Space == wsdlSOAP11 || t.Name.Space == wsdlSOAP12):
				attr = locationAttr
			case t.Name.Local == "endpoint" && t.Name.Space == wsdl20Namespace:
				attr = addressAttr
			}
			if attr != nil {
				off := d.InputOffset()
				out.Write(raw[last:prev])
				out.Write(attr.ReplaceAll(raw[prev:off], []byte(`${1}"`+HiddenEndpoint+`"`)))
				last = off
			}
		}
	}
	out.Write(raw[last:])
	return out.Bytes(), nil
}

// GetWsdlRequest is the body of a SOAP getWsdl request.
type GetWsdlRequest struct {
	Header         SOAPHeader
	ServiceCode    string
	ServiceVersion string
}

// ParseGetWsdl reads a SOAP getWsdl request (X-Road Service Metadata
// Protocol §4): the X-Road header (ParseSOAP), then xrd:getWsdl in the
// Body with a mandatory serviceCode and an optional serviceVersion. The
// whole message must fit in MaxSOAPHeader. Errors wrap ErrSOAP.
func ParseGetWsdl(contentType string, body []byte) (GetWsdlRequest, error) {
	h, err := ParseSOAP(contentType, body)
	if err != nil {
		return GetWsdlRequest{}, err
	}
	if len(body) > MaxSOAPHeader {
		return GetWsdlRequest{}, fmt.Errorf("%w: getWsdl request over %d bytes", ErrSOAP, MaxSOAPHeader)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	p := soapParser{d: d}
	if _, err := p.nextStart(); err != nil { // Envelope, checked by ParseSOAP
		return GetWsdlRequest{}, p.fail("envelope", err)
	}
	if _, err := p.nextStart(); err == nil { // Header
		err = p.skip()
	}
	if err != nil {
		return GetWsdlRequest{}, p.fail("header", err)
	}
	el, err := p.nextStart()
	if err == nil && el.Name.Local != "Body" {
		err = fmt.Errorf("%w: no SOAP Body after the Header", ErrSOAP)
	}
	if err == nil {
		el, err = p.nextStart()
	}
	if err == nil && (el.Name.Local != "getWsdl" || el.Name.Space != XRoadNamespace) {
		err = fmt.Errorf("%w: the Body holds %s, not xrd:getWsdl", ErrSOAP, el.Name.Local)
	}
	if err != nil {
		return GetWsdlRequest{}, p.fail("body", err)
	}
	req := GetWsdlRequest{Header: h}
	for {
		c, end, err := p.child()
		if err != nil {
			return GetWsdlRequest{}, p.fail("getWsdl", err)
		}
		if end {
			break
		}
		var dst *string
		switch c.Name.Local {
		case "serviceCode":
			dst = &req.ServiceCode
		case "serviceVersion":
			dst = &req.ServiceVersion
		}
		if dst == nil || *dst != "" {
			return GetWsdlRequest{}, fmt.Errorf("%w: getWsdl: unexpected or repeated element %s", ErrSOAP, c.Name.Local)
		}
		if *dst, err = p.text(); err != nil {
			return GetWsdlRequest{}, p.fail("getWsdl", err)
		}
	}
	if req.ServiceCode == "" {
		return GetWsdlRequest{}, fmt.Errorf("%w: getWsdl needs a serviceCode", ErrSOAP)
	}
	return req, nil
}

// GetWsdlResponse is the answer to r: a multipart/related message whose
// root part is the SOAP response (the request's header echoed, the
// service code and version in xrd:getWsdlResponse) and whose attachment is
// wsdl, as X-Road sends it (§4, Annex C.7 and C.8).
func GetWsdlResponse(r GetWsdlRequest, wsdl []byte) (contentType string, body []byte) {
	soapType, env := soapResponse(r.Header, func(b *bytes.Buffer) { writeGetWsdlBody(b, r) })
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	_ = mw.SetBoundary("dxl-" + hex.EncodeToString(nonce[:]))
	root, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {soapType}, "Content-Id": {"<rootpart@dxl>"}})
	_, _ = root.Write(env)
	att, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/xml; charset=utf-8"}, "Content-Id": {"<wsdl@dxl>"}})
	_, _ = att.Write(wsdl)
	_ = mw.Close()
	mediaType, _, _ := bytes.Cut([]byte(soapType), []byte(";"))
	return fmt.Sprintf(`multipart/related; type="%s"; start="<rootpart@dxl>"; boundary=%s`, mediaType, mw.Boundary()), b.Bytes()
}

func writeGetWsdlBody(b *bytes.Buffer, r GetWsdlRequest) {
	b.WriteString(`<xrd:getWsdlResponse><xrd:serviceCode>`)
	_ = xml.EscapeText(b, []byte(r.ServiceCode))
	b.WriteString(`</xrd:serviceCode>`)
	if r.ServiceVersion != "" {
		b.WriteString(`<xrd:serviceVersion>`)
		_ = xml.EscapeText(b, []byte(r.ServiceVersion))
		b.WriteString(`</xrd:serviceVersion>`)
	}
	b.WriteString(`</xrd:getWsdlResponse>`)
}
