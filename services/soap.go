package services

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
)

// SOAP and X-Road namespaces.
const (
	SOAP11Namespace = "http://schemas.xmlsoap.org/soap/envelope/"
	SOAP12Namespace = "http://www.w3.org/2003/05/soap-envelope"
	XRoadNamespace  = "http://x-road.eu/xsd/xroad.xsd"
	IdenNamespace   = "http://x-road.eu/xsd/identifiers"
)

// SOAP content types (without parameters).
const (
	soap11Type = "text/xml"
	soap12Type = "application/soap+xml"
)

// MaxSOAPHeader caps how much of a SOAP message ParseSOAP reads: the
// envelope start and the whole Header element must fit in it.
const MaxSOAPHeader = 64 << 10

// SOAPHeader is the X-Road header of a SOAP request.
type SOAPHeader struct {
	Version         string // "1.1" or "1.2"
	Client          string // INSTANCE/CLASS/MEMBER/SUBSYSTEM
	Service         string // INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]
	ID              string // message ID chosen by the client
	UserID          string // optional
	ProtocolVersion string // optional, "4.0" in X-Road
}

// IsSOAP reports whether contentType (parameters ignored) is a SOAP 1.1
// (text/xml) or SOAP 1.2 (application/soap+xml) media type. It looks at the
// type only: text/xml may also be plain XML, which ParseSOAP tells apart.
func IsSOAP(contentType string) bool {
	return soapVersion(contentType) != ""
}

// SOAPVersion is the SOAP version a content type names: "1.1" for
// text/xml, "1.2" for application/soap+xml, "" for any other.
func SOAPVersion(contentType string) string { return soapVersion(contentType) }

func soapVersion(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	switch mt {
	case soap11Type:
		return "1.1"
	case soap12Type:
		return "1.2"
	}
	return ""
}

// ParseSOAP reads the X-Road header of a SOAP message: the envelope must be
// in the namespace of the version its content type names (SOAP 1.1 for
// text/xml, SOAP 1.2 for application/soap+xml), and its Header must carry
// xrd:client (a subsystem), xrd:service and a non-empty xrd:id; xrd:userId
// and xrd:protocolVersion are optional and other header elements are
// skipped. Identifiers are returned in their text form after
// ParseSubsystemID / ParseServiceID.
//
// Only the first MaxSOAPHeader bytes of body are read and decoding stops
// at the end of the Header, so the body of the message is never parsed.
// The decoder is strict; a DOCTYPE (or any other directive) is refused, so
// no entity can be declared. Errors wrap ErrSOAP.
func ParseSOAP(contentType string, body []byte) (SOAPHeader, error) {
	h := SOAPHeader{Version: soapVersion(contentType)}
	if h.Version == "" {
		return SOAPHeader{}, fmt.Errorf("%w: content type %q is not SOAP", ErrSOAP, contentType)
	}
	envNS := SOAP11Namespace
	if h.Version == "1.2" {
		envNS = SOAP12Namespace
	}
	cut := len(body) > MaxSOAPHeader
	if cut {
		body = body[:MaxSOAPHeader]
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	p := soapParser{d: d, cut: cut}

	env, err := p.nextStart()
	if err != nil {
		return SOAPHeader{}, p.fail("envelope", err)
	}
	if env.Name.Space != envNS || env.Name.Local != "Envelope" {
		return SOAPHeader{}, fmt.Errorf("%w: root element {%s}%s is not a SOAP %s Envelope", ErrSOAP, env.Name.Space, env.Name.Local, h.Version)
	}
	hdr, err := p.nextStart()
	if err != nil {
		return SOAPHeader{}, p.fail("header", err)
	}
	if hdr.Name.Space != envNS || hdr.Name.Local != "Header" {
		return SOAPHeader{}, fmt.Errorf("%w: no SOAP Header with the X-Road client and service", ErrSOAP)
	}
	if err := p.headerFields(&h); err != nil {
		return SOAPHeader{}, err
	}
	switch {
	case h.Client == "":
		return SOAPHeader{}, fmt.Errorf("%w: missing xrd:client", ErrSOAP)
	case h.Service == "":
		return SOAPHeader{}, fmt.Errorf("%w: missing xrd:service", ErrSOAP)
	case h.ID == "":
		return SOAPHeader{}, fmt.Errorf("%w: missing xrd:id", ErrSOAP)
	}
	return h, nil
}

// soapParser reads the SOAP envelope start and header token by token.
type soapParser struct {
	d   *xml.Decoder
	cut bool // the input was cut at MaxSOAPHeader
}

// fail wraps a decoding error in ErrSOAP, naming where it happened.
func (p *soapParser) fail(where string, err error) error {
	var se *xml.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &se) && se.Msg == "unexpected EOF":
		if p.cut {
			return fmt.Errorf("%w: %s: header longer than %d bytes", ErrSOAP, where, MaxSOAPHeader)
		}
		return fmt.Errorf("%w: %s: truncated message", ErrSOAP, where)
	case errors.Is(err, ErrSOAP):
		return fmt.Errorf("%s: %w", where, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrSOAP, where, err)
}

// token returns the next token, refusing directives (DOCTYPE).
func (p *soapParser) token() (xml.Token, error) {
	t, err := p.d.Token()
	if err != nil {
		return nil, err
	}
	if _, ok := t.(xml.Directive); ok {
		return nil, fmt.Errorf("%w: DOCTYPE and other directives are not allowed", ErrSOAP)
	}
	return t, nil
}

// nextStart returns the next start element, skipping the prolog,
// comments, processing instructions and whitespace. Other text or an end
// element is an error.
func (p *soapParser) nextStart() (xml.StartElement, error) {
	el, end, err := p.child()
	if err == nil && end {
		err = fmt.Errorf("%w: unexpected end element", ErrSOAP)
	}
	return el, err
}

// child returns the next child start element of the current element, or
// end=true at its end element.
func (p *soapParser) child() (el xml.StartElement, end bool, err error) {
	for {
		t, err := p.token()
		if err != nil {
			return el, false, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			return t, false, nil
		case xml.EndElement:
			return el, true, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return el, false, fmt.Errorf("%w: unexpected text", ErrSOAP)
			}
		}
	}
}

// skip consumes the rest of the current element, without recursion.
func (p *soapParser) skip() error {
	for depth := 1; depth > 0; {
		t, err := p.token()
		if err != nil {
			return err
		}
		switch t.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// text returns the trimmed text content of the current element, which must
// have no child elements.
func (p *soapParser) text() (string, error) {
	var b strings.Builder
	for {
		t, err := p.token()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", fmt.Errorf("%w: unexpected element %s in text", ErrSOAP, t.Name.Local)
		case xml.EndElement:
			return strings.TrimSpace(b.String()), nil
		}
	}
}

// identifier reads an xrd:client or xrd:service element whose
// iden:objectType must be objectType, and returns its text form.
func (p *soapParser) identifier(el xml.StartElement, objectType string) (string, error) {
	var typ string
	for _, a := range el.Attr {
		if a.Name.Local == "objectType" && (a.Name.Space == IdenNamespace || a.Name.Space == "") {
			typ = a.Value
		}
	}
	parts := make(map[string]string)
	for {
		c, end, err := p.child()
		if err != nil {
			return "", err
		}
		if end {
			break
		}
		if c.Name.Space != IdenNamespace {
			return "", fmt.Errorf("%w: unexpected element {%s}%s", ErrSOAP, c.Name.Space, c.Name.Local)
		}
		if _, dup := parts[c.Name.Local]; dup {
			return "", fmt.Errorf("%w: iden:%s given twice", ErrSOAP, c.Name.Local)
		}
		if parts[c.Name.Local], err = p.text(); err != nil {
			return "", err
		}
	}
	if typ != objectType {
		if objectType == "SUBSYSTEM" && typ == "MEMBER" {
			return "", fmt.Errorf("%w: the client must be a subsystem, not a member", ErrSOAP)
		}
		return "", fmt.Errorf("%w: iden:objectType %q, want %q", ErrSOAP, typ, objectType)
	}
	names := []string{"xRoadInstance", "memberClass", "memberCode", "subsystemCode"}
	if objectType == "SERVICE" {
		names = append(names, "serviceCode", "serviceVersion")
	}
	vals := make([]string, 0, len(names))
	for _, n := range names {
		v, ok := parts[n]
		if !ok {
			if n == "serviceVersion" {
				continue
			}
			if n == "subsystemCode" && objectType == "SUBSYSTEM" {
				return "", fmt.Errorf("%w: the client must be a subsystem (no iden:subsystemCode)", ErrSOAP)
			}
			return "", fmt.Errorf("%w: missing iden:%s", ErrSOAP, n)
		}
		if err := ident.CheckPart(v); err != nil {
			// Checked one by one: a "/" inside a part would shift the
			// others once joined.
			return "", fmt.Errorf("%w: iden:%s: %v", ErrSOAP, n, err)
		}
		vals = append(vals, v)
	}
	if len(vals) != len(parts) {
		return "", fmt.Errorf("%w: unexpected identifier parts", ErrSOAP)
	}
	id := strings.Join(vals, "/")
	var err error
	if objectType == "SUBSYSTEM" {
		_, err = ParseSubsystemID(id)
	} else {
		_, err = ParseServiceID(id)
	}
	if err != nil {
		// Only one sentinel per error: the ID error is text here.
		return "", fmt.Errorf("%w: %v", ErrSOAP, err)
	}
	return id, nil
}

// soapFaultNS is the namespace of the DXL fault subcode (SOAP 1.2).
const soapFaultNS = "urn:dxl:error"

// SOAPFault returns a SOAP fault for an exchange-layer error, in SOAP 1.2
// when version is "1.2" and in SOAP 1.1 otherwise, with its content type.
// client says whose the fault is: the request's (the node answers 4xx) or
// the nodes' and the provider's. code is the machine code (ErrorCode) and
// message the human text, which is XML-escaped.
//
// SOAP 1.1: faultcode "SOAP-ENV:Client.<code>" or "SOAP-ENV:Server.<code>"
// (the dotted X-Road form) and faultstring message. SOAP 1.2: Code Value
// env:Sender or env:Receiver with the Subcode Value dxl:<code> (namespace
// urn:dxl:error) and Reason Text message. Characters of code outside
// [A-Za-z0-9._-] become "_"; an empty code gives a plain Client / Server
// (Sender / Receiver) fault.
func SOAPFault(version string, client bool, code, message string) (contentType string, body []byte) {
	code = faultCode(code)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if version == "1.2" {
		value := "env:Receiver"
		if client {
			value = "env:Sender"
		}
		b.WriteString(`<env:Envelope xmlns:env="` + SOAP12Namespace + `"><env:Body><env:Fault><env:Code><env:Value>` + value + `</env:Value>`)
		if code != "" {
			b.WriteString(`<env:Subcode><env:Value xmlns:dxl="` + soapFaultNS + `">dxl:` + code + `</env:Value></env:Subcode>`)
		}
		b.WriteString(`</env:Code><env:Reason><env:Text xml:lang="en">`)
		xml.EscapeText(&b, []byte(message))
		b.WriteString(`</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>`)
		return soap12Type + "; charset=utf-8", b.Bytes()
	}
	fc := "SOAP-ENV:Server"
	if client {
		fc = "SOAP-ENV:Client"
	}
	if code != "" {
		fc += "." + code
	}
	b.WriteString(`<SOAP-ENV:Envelope xmlns:SOAP-ENV="` + SOAP11Namespace + `"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>` + fc + `</faultcode><faultstring>`)
	xml.EscapeText(&b, []byte(message))
	b.WriteString(`</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`)
	return soap11Type + "; charset=utf-8", b.Bytes()
}

// faultCode makes code usable as the local part of a QName.
func faultCode(code string) string {
	if code == "" {
		return ""
	}
	b := []byte(code)
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if c := b[0]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_') {
		return "_" + string(b)
	}
	return string(b)
}

// headerFields reads the X-Road fields of the SOAP Header into h: client,
// service, id, userId and protocolVersion, each at most once; other
// elements are skipped.
func (p *soapParser) headerFields(h *SOAPHeader) error {
	seen := make(map[string]bool)
	for {
		el, end, err := p.child()
		if err != nil {
			return p.fail("header", err)
		}
		if end {
			return nil
		}
		name := el.Name.Local
		var dst *string
		objectType := "" // an identifier of this type, or text
		switch name {
		case "client":
			dst, objectType = &h.Client, "SUBSYSTEM"
		case "service":
			dst, objectType = &h.Service, "SERVICE"
		case "id":
			dst = &h.ID
		case "userId":
			dst = &h.UserID
		case "protocolVersion":
			dst = &h.ProtocolVersion
		}
		if el.Name.Space != XRoadNamespace || dst == nil {
			if err := p.skip(); err != nil {
				return p.fail("header", err)
			}
			continue
		}
		if seen[name] {
			return fmt.Errorf("%w: xrd:%s given twice", ErrSOAP, name)
		}
		seen[name] = true
		if objectType != "" {
			*dst, err = p.identifier(el, objectType)
		} else {
			*dst, err = p.text()
		}
		if err != nil {
			return p.fail("xrd:"+name, err)
		}
	}
}
