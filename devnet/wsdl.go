package devnet

import "strings"

// SampleWSDL describes the sample backend's SOAP service (SampleSOAPCode),
// with its real address at backendURL: getWsdl serves it with that address
// hidden.
func SampleWSDL(backendURL string) []byte {
	return []byte(strings.ReplaceAll(sampleWSDL, "BACKEND", backendURL))
}

const sampleWSDL = `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="population" targetNamespace="http://dancu.example.vn/producer"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="http://dancu.example.vn/producer"
    xmlns:xrd="http://x-road.eu/xsd/xroad.xsd">
  <wsdl:types>
    <xsd:schema targetNamespace="http://dancu.example.vn/producer" elementFormDefault="qualified">
      <xsd:element name="getCitizen"><xsd:complexType><xsd:sequence>
        <xsd:element name="id" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="getCitizenResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="name" type="xsd:string"/></xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="getCitizen"><wsdl:part name="body" element="tns:getCitizen"/></wsdl:message>
  <wsdl:message name="getCitizenResponse"><wsdl:part name="body" element="tns:getCitizenResponse"/></wsdl:message>
  <wsdl:portType name="populationPortType">
    <wsdl:operation name="getCitizen">
      <wsdl:input message="tns:getCitizen"/><wsdl:output message="tns:getCitizenResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="populationBinding" type="tns:populationPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="getCitizen">
      <soap:operation soapAction="" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input><wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="population">
    <wsdl:port binding="tns:populationBinding" name="populationPort">
      <soap:address location="BACKEND/soap"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`
