package services

import (
	"bytes"
	"encoding/xml"
)

// SOAPMethodsResponse builds the answer to a SOAP listMethods or
// allowedMethods request (op, X-Road Service Metadata Protocol §3 and
// examples C.3, C.5): an envelope of h's SOAP version echoing h's header
// (client, service, id, userId, protocolVersion), whose Body holds
// <xrd:{op}Response> with one <xrd:service id:objectType="SERVICE">
// identifier per entry of list, in the namespaces
// http://x-road.eu/xsd/xroad.xsd and http://x-road.eu/xsd/identifiers.
// Metaservices themselves are never listed (§3); the caller leaves them
// out of list.
func SOAPMethodsResponse(h SOAPHeader, op string, list []ServiceID) (contentType string, body []byte) {
	return soapResponse(h, func(b *bytes.Buffer) {
		b.WriteString(`<xrd:` + op + `Response>`)
		for _, s := range list {
			writeService(b, s)
		}
		b.WriteString(`</xrd:` + op + `Response>`)
	})
}

// soapResponse is a SOAP response of h's version with h echoed as its
// X-Road header and the Body content writeBody writes.
func soapResponse(h SOAPHeader, writeBody func(*bytes.Buffer)) (contentType string, body []byte) {
	env, ctype := "SOAP-ENV", soap11Type
	ns := SOAP11Namespace
	if h.Version == "1.2" {
		env, ns, ctype = "env", SOAP12Namespace, soap12Type
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<` + env + `:Envelope xmlns:` + env + `="` + ns + `" xmlns:xrd="` + XRoadNamespace + `" xmlns:id="` + IdenNamespace + `">`)
	b.WriteString(`<` + env + `:Header>`)
	if c, err := ParseSubsystemID(h.Client); err == nil {
		writeIdentifier(&b, "xrd:client", "SUBSYSTEM", c.Member.Instance, c.Member.Class, c.Member.Code, c.Subsystem, "", "")
	}
	if s, err := ParseServiceID(h.Service); err == nil {
		writeService(&b, s)
	}
	for _, f := range [...][2]string{{"xrd:id", h.ID}, {"xrd:userId", h.UserID}, {"xrd:protocolVersion", h.ProtocolVersion}} {
		if f[1] != "" {
			b.WriteString("<" + f[0] + ">")
			_ = xml.EscapeText(&b, []byte(f[1]))
			b.WriteString("</" + f[0] + ">")
		}
	}
	b.WriteString(`</` + env + `:Header><` + env + `:Body>`)
	writeBody(&b)
	b.WriteString(`</` + env + `:Body></` + env + `:Envelope>`)
	return ctype + "; charset=utf-8", b.Bytes()
}

func writeService(b *bytes.Buffer, s ServiceID) {
	p := s.Provider
	writeIdentifier(b, "xrd:service", "SERVICE", p.Member.Instance, p.Member.Class, p.Member.Code, p.Subsystem, s.Code, s.Version)
}

// writeIdentifier writes an XRoadIdentifierType element; empty optional
// parts (subsystemCode, serviceCode, serviceVersion) are left out.
func writeIdentifier(b *bytes.Buffer, name, objectType string, parts ...string) {
	b.WriteString(`<` + name + ` id:objectType="` + objectType + `">`)
	for i, tag := range [...]string{"xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"} {
		if parts[i] == "" && i >= 3 {
			continue
		}
		b.WriteString("<id:" + tag + ">")
		_ = xml.EscapeText(b, []byte(parts[i]))
		b.WriteString("</id:" + tag + ">")
	}
	b.WriteString(`</` + name + `>`)
}
