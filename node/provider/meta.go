package provider

import (
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

// MethodList is the answer to listMethods and allowedMethods.
type MethodList struct {
	Service []ServiceMethods `json:"service"`
}

// ServiceMethods is one service of the provider subsystem with its endpoints.
type ServiceMethods struct {
	XRoadInstance string              `json:"xroad_instance"`
	MemberClass   string              `json:"member_class"`
	MemberCode    string              `json:"member_code"`
	SubsystemCode string              `json:"subsystem_code"`
	ServiceCode   string              `json:"service_code"`
	ServiceVer    string              `json:"service_version,omitempty"`
	ObjectType    string              `json:"object_type"`
	ServiceType   string              `json:"service_type"`
	Endpoints     []services.Endpoint `json:"endpoints,omitempty"`
}

// meta answers a metadata call to the provider subsystem of sid.
func (pr *Provider) meta(client services.SubsystemID, sid services.ServiceID, path string) (int, string, []byte, error) {
	sub := sid.Provider
	switch sid.Code {
	case exchange.MetaListMethods, exchange.MetaAllowedMethods:
		out := MethodList{Service: []ServiceMethods{}}
		for _, p := range pr.sortedProvided() {
			if p.id.Provider != sub {
				continue
			}
			for _, ver := range p.cfg.Versions {
				if ver.Lifecycle == ident.ServiceRetired {
					continue
				}
				vid := p.id
				vid.Version = ver.Version
				sm := ServiceMethods{XRoadInstance: sub.Member.Instance, MemberClass: sub.Member.Class, MemberCode: sub.Member.Code,
					SubsystemCode: sub.Subsystem, ServiceCode: p.id.Code, ServiceVer: ver.Version, ObjectType: "SERVICE", ServiceType: "REST"}
				api := p.apis[ver.Version]
				if api != nil {
					sm.ServiceType = "OPENAPI"
				}
				if sid.Code == exchange.MetaAllowedMethods {
					sm.Endpoints = pr.gate.ACL().AllowedMethods(client, vid)
					if len(sm.Endpoints) == 0 {
						continue
					}
				} else if api != nil {
					sm.Endpoints = api.Endpoints()
				}
				out.Service = append(out.Service, sm)
			}
		}
		b, _ := json.Marshal(out)
		return http.StatusOK, "application/json", b, nil
	case exchange.MetaGetOpenAPI:
		q := url.Values{}
		if _, raw, ok := strings.Cut(path, "?"); ok {
			q, _ = url.ParseQuery(raw)
		}
		code := q.Get("serviceCode")
		p := pr.provided[sub.String()+"/"+code]
		if code == "" || p == nil {
			return 0, "", nil, fmt.Errorf("%w: getOpenAPI needs ?serviceCode= of a service of %s", exchange.ErrUnknownService, sub)
		}
		ver, err := p.cfg.Lookup(q.Get("version"))
		if err != nil {
			return 0, "", nil, fmt.Errorf("%w: %v", exchange.ErrUnknownService, err)
		}
		api := p.apis[ver.Version]
		if api == nil {
			return 0, "", nil, fmt.Errorf("%w: %s has no OpenAPI description", exchange.ErrUnknownService, p.id)
		}
		ctype := "application/json"
		if raw := api.Raw(); len(raw) > 0 && raw[0] != '{' {
			ctype = "application/yaml"
		}
		return http.StatusOK, ctype, api.Raw(), nil
	}
	return 0, "", nil, exchange.ErrUnknownService
}

func (pr *Provider) sortedProvided() []*provided {
	out := make([]*provided, 0, len(pr.provided))
	for _, p := range pr.provided {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *provided) int { return strings.Compare(a.id.String(), b.id.String()) })
	return out
}
