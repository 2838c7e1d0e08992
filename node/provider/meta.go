package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// MethodList is the answer to listMethods and allowedMethods, X-Road's
// restServiceDetailsListType (Service Metadata Protocol for REST §4,
// examples B.1 and B.2).
type MethodList struct {
	Service []ServiceMethods `json:"service"`
}

// ServiceMethods is one service of the provider subsystem with its
// endpoints (xroadRestServiceDetailsType). ServiceType is OPENAPI for a
// version with an OpenAPI description, REST otherwise.
type ServiceMethods struct {
	ObjectType    string              `json:"object_type"` // SERVICE
	XRoadInstance string              `json:"xroad_instance"`
	MemberClass   string              `json:"member_class"`
	MemberCode    string              `json:"member_code"`
	SubsystemCode string              `json:"subsystem_code"`
	ServiceCode   string              `json:"service_code"`
	ServiceVer    string              `json:"service_version,omitempty"`
	ServiceType   string              `json:"service_type"`
	EndpointList  []services.Endpoint `json:"endpoint_list"`
}

// Content types of getOpenAPI's answer, by the form of the stored
// description (Service Metadata Protocol for REST, Annex A).
const (
	openAPIJSON = "application/json; charset=utf-8"
	openAPIYAML = "text/yaml; charset=utf-8"
)

// meta answers a metadata call to the provider subsystem of sid.
func (pr *Provider) meta(client services.SubsystemID, sid services.ServiceID, path, ctype string, in []byte) (int, string, []byte, error) {
	switch sid.Code {
	case exchange.MetaListMethods, exchange.MetaAllowedMethods:
		if services.IsSOAP(ctype) {
			return pr.soapMethods(client, sid, ctype, in)
		}
		b, _ := json.Marshal(pr.methods(client, sid.Provider, sid.Code == exchange.MetaAllowedMethods))
		return http.StatusOK, openAPIJSON, b, nil
	case exchange.MetaGetOpenAPI:
		return pr.openAPI(sid.Provider, path)
	case exchange.MetaGetWsdl:
		return pr.getWsdl(sid.Provider, ctype, in)
	case exchange.MetaGetSchema:
		return pr.getSchema(sid.Provider, path)
	}
	return 0, "", nil, exchange.ErrUnknownService
}

// soapMethods answers a SOAP listMethods or allowedMethods request (X-Road
// Service Metadata Protocol §3) with the services of methods as SOAP
// service identifiers, the request's header echoed.
func (pr *Provider) soapMethods(client services.SubsystemID, sid services.ServiceID, ctype string, in []byte) (int, string, []byte, error) {
	h, err := services.ParseSOAP(ctype, in)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: %v", exchange.ErrBadRequest, err)
	}
	var list []services.ServiceID
	for _, sm := range pr.methods(client, sid.Provider, sid.Code == exchange.MetaAllowedMethods).Service {
		list = append(list, services.ServiceID{Provider: sid.Provider, Code: sm.ServiceCode, Version: sm.ServiceVer})
	}
	ct, body := services.SOAPMethodsResponse(h, sid.Code, list)
	return http.StatusOK, ct, body, nil
}

// methods lists the callable versions of the services of sub (§4): every
// endpoint for listMethods (the description's operations, or the whole
// service for one without description), those client may call for
// allowedMethods, leaving out versions it may call nothing of.
func (pr *Provider) methods(client, sub services.SubsystemID, allowed bool) MethodList {
	out := MethodList{Service: []ServiceMethods{}}
	for _, p := range pr.sortedProvided() {
		if p.id.Provider != sub {
			continue
		}
		for _, ver := range p.cfg.Versions {
			if ver.Lifecycle == ident.ServiceRetired {
				continue
			}
			sm := ServiceMethods{ObjectType: "SERVICE", XRoadInstance: sub.Member.Instance, MemberClass: sub.Member.Class,
				MemberCode: sub.Member.Code, SubsystemCode: sub.Subsystem, ServiceCode: p.id.Code, ServiceVer: ver.Version,
				ServiceType: "REST", EndpointList: []services.Endpoint{services.AllEndpoints}}
			if api := p.apis[ver.Version]; api != nil {
				sm.ServiceType, sm.EndpointList = "OPENAPI", append([]services.Endpoint{}, api.Endpoints()...)
			} else if p.wsdls[ver.Version] != nil {
				sm.ServiceType = "WSDL"
			}
			if allowed {
				vid := p.id
				vid.Version = ver.Version
				if sm.EndpointList = pr.gate.ACL().AllowedMethods(client, vid); len(sm.EndpointList) == 0 {
					continue
				}
			}
			out.Service = append(out.Service, sm)
		}
	}
	return out
}

// openAPI answers getOpenAPI (§5): the stored description of the service
// the serviceCode query parameter names (required; its name matched
// without case, as X-Road does), of the version ?version= names or the
// default one, as JSON or YAML as it is stored.
func (pr *Provider) openAPI(sub services.SubsystemID, path string) (int, string, []byte, error) {
	p, ver, _, err := pr.metaTarget(exchange.MetaGetOpenAPI, sub, path)
	if err != nil {
		return 0, "", nil, err
	}
	api := p.apis[ver.Version]
	if api == nil {
		return 0, "", nil, fmt.Errorf("%w: %s has no OpenAPI description", exchange.ErrUnknownService, p.id)
	}
	return http.StatusOK, openAPIType(api.Raw()), api.Raw(), nil
}

// metaTarget is the service version a getOpenAPI or getSchema call
// names: the serviceCode query parameter (required; its name matched
// without case, as X-Road does) and ?version= (none: the unversioned
// one), with the query.
func (pr *Provider) metaTarget(call string, sub services.SubsystemID, path string) (*provided, *services.Version, url.Values, error) {
	var code string
	q := url.Values{}
	if _, raw, ok := strings.Cut(path, "?"); ok {
		q, _ = url.ParseQuery(raw)
		code = q.Get("serviceCode")
		for k, v := range q {
			if code == "" && strings.EqualFold(k, "serviceCode") {
				code = v[0]
			}
		}
	}
	if code == "" {
		return nil, nil, nil, fmt.Errorf("%w: %s needs ?serviceCode= naming a service of %s", exchange.ErrBadRequest, call, sub)
	}
	p := pr.provided[sub.String()+"/"+code]
	if p == nil {
		return nil, nil, nil, fmt.Errorf("%w: %s provides no service %q", exchange.ErrUnknownService, sub, code)
	}
	ver, err := p.cfg.Lookup(q.Get("version"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", exchange.ErrUnknownService, err)
	}
	return p, ver, q, nil
}

// getWsdl answers a SOAP getWsdl request (Service Metadata Protocol §4):
// the WSDL of the version the request names (or the default one), its
// endpoint addresses hidden, as the attachment of the SOAP response.
func (pr *Provider) getWsdl(sub services.SubsystemID, ctype string, in []byte) (int, string, []byte, error) {
	if !services.IsSOAP(ctype) {
		return 0, "", nil, fmt.Errorf("%w: getWsdl is a SOAP metaservice (X-Road Service Metadata Protocol §4); REST clients use getOpenAPI", exchange.ErrBadRequest)
	}
	req, err := services.ParseGetWsdl(ctype, in)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: %v", exchange.ErrBadRequest, err)
	}
	p := pr.provided[sub.String()+"/"+req.ServiceCode]
	if p == nil {
		return 0, "", nil, fmt.Errorf("%w: %s provides no service %q", exchange.ErrUnknownService, sub, req.ServiceCode)
	}
	ver, err := p.cfg.Lookup(req.ServiceVersion)
	if err != nil {
		return 0, "", nil, fmt.Errorf("%w: %v", exchange.ErrUnknownService, err)
	}
	wsdl := p.wsdls[ver.Version]
	if wsdl == nil {
		return 0, "", nil, fmt.Errorf("%w: %s has no WSDL", exchange.ErrUnknownService, p.id)
	}
	ct, body := services.GetWsdlResponse(req, wsdl)
	return http.StatusOK, ct, body, nil
}

// openAPIType is the content type of a stored description: JSON when
// its first character (after white space and a byte-order mark) opens an
// object, YAML otherwise.
func openAPIType(raw []byte) string {
	raw = bytes.TrimLeft(bytes.TrimPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(raw) > 0 && raw[0] == '{' {
		return openAPIJSON
	}
	return openAPIYAML
}

func (pr *Provider) sortedProvided() []*provided {
	out := make([]*provided, 0, len(pr.provided))
	for _, p := range pr.provided {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *provided) int { return strings.Compare(a.id.String(), b.id.String()) })
	return out
}
