package provider

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

const metaOpenAPI = `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{
"/pets":{"get":{"responses":{"200":{"description":"ok"}}}},
"/pets/{id}":{"delete":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"ok"}}}}}}`

const metaYAML = "\ufeff\nopenapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"

// metaProvider provides, on VN/GOV/B/SVC, "pets" (OpenAPI, JSON), "docs"
// (OpenAPI, YAML, version v2) and "plain" (no description); VN/GOV/A/IS
// may call GET /pets* of pets and all of plain.
func metaProvider(t *testing.T) *Provider {
	t.Helper()
	pub := func(v, api string) services.Version {
		return services.Version{Version: v, Lifecycle: ident.ServicePublished, BackendURL: "http://127.0.0.1:1", OpenAPI: []byte(api)}
	}
	pr, err := New(Config{Now: time.Now, Services: []ServiceConfig{
		{Subsystem: "VN/GOV/B/SVC", Description: services.Description{Code: "pets", Versions: []services.Version{pub("", metaOpenAPI)}}},
		{Subsystem: "VN/GOV/B/SVC", Description: services.Description{Code: "docs", Versions: []services.Version{pub("v2", metaYAML)}}},
		{Subsystem: "VN/GOV/B/SVC", Description: services.Description{Code: "plain", Versions: []services.Version{pub("", "")}}},
	}, Access: services.AccessConfig{Rules: []services.Rule{
		{Subject: "VN/GOV/A/IS", Service: "VN/GOV/B/SVC/pets", Method: "GET", Path: "/pets"},
		{Subject: "VN/GOV/A/IS", Service: "VN/GOV/B/SVC/plain"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func metaCall(t *testing.T, pr *Provider, client, service, path string) (int, string, []byte, error) {
	t.Helper()
	c, err := services.ParseSubsystemID(client)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := services.ParseServiceID(service)
	if err != nil {
		t.Fatal(err)
	}
	return pr.meta(c, sid, path, "", nil)
}

// TestListMethodsShape: listMethods is X-Road's restServiceDetailsListType
// (Service Metadata Protocol for REST §4, example B.1): a "service" list
// of objects with object_type SERVICE, the provider's xroad_instance,
// member_class, member_code, subsystem_code, the service_code, its
// service_type (OPENAPI with a description, REST without) and an
// endpoint_list of {method, path}: the description's operations, or the
// whole service for one without description.
func TestListMethodsShape(t *testing.T) {
	status, ctype, body, err := metaCall(t, metaProvider(t), "VN/GOV/A/IS", "VN/GOV/B/SVC/listMethods", "/")
	if err != nil || status != 200 || ctype != "application/json; charset=utf-8" {
		t.Fatalf("%d %q %v", status, ctype, err)
	}
	var got struct {
		Service []map[string]any `json:"service"`
	}
	if err := json.Unmarshal(body, &got); err != nil || len(got.Service) != 3 {
		t.Fatalf("%v %s", err, body)
	}
	want := []string{
		`{"endpoint_list":[],"member_class":"GOV","member_code":"B","object_type":"SERVICE","service_code":"docs","service_type":"OPENAPI","service_version":"v2","subsystem_code":"SVC","xroad_instance":"VN"}`,
		`{"endpoint_list":[{"method":"GET","path":"/pets"},{"method":"DELETE","path":"/pets/*"}],"member_class":"GOV","member_code":"B","object_type":"SERVICE","service_code":"pets","service_type":"OPENAPI","subsystem_code":"SVC","xroad_instance":"VN"}`,
		`{"endpoint_list":[{"method":"*","path":"/**"}],"member_class":"GOV","member_code":"B","object_type":"SERVICE","service_code":"plain","service_type":"REST","subsystem_code":"SVC","xroad_instance":"VN"}`,
	}
	for i, s := range got.Service {
		b, _ := json.Marshal(s) // keys sorted
		if string(b) != want[i] {
			t.Errorf("service %d:\n got %s\nwant %s", i, b, want[i])
		}
	}
}

// TestAllowedMethodsShape: allowedMethods has listMethods' shape and
// lists only what the client may call (Service Metadata Protocol for REST
// §4, example B.2): the granted endpoints, a whole-service grant as
// {"*","/**"}; services it may call nothing of are left out, and a client
// with no rights gets an empty list, not null.
func TestAllowedMethodsShape(t *testing.T) {
	_, _, body, err := metaCall(t, metaProvider(t), "VN/GOV/A/IS", "VN/GOV/B/SVC/allowedMethods", "/")
	if err != nil {
		t.Fatal(err)
	}
	var ml MethodList
	if err := json.Unmarshal(body, &ml); err != nil || len(ml.Service) != 2 ||
		ml.Service[0].ServiceCode != "pets" || len(ml.Service[0].EndpointList) != 1 ||
		ml.Service[0].EndpointList[0] != (services.Endpoint{Method: "GET", Path: "/pets"}) ||
		ml.Service[1].ServiceCode != "plain" || ml.Service[1].EndpointList[0] != services.AllEndpoints {
		t.Fatalf("%v %s", err, body)
	}
	_, _, body, err = metaCall(t, metaProvider(t), "VN/GOV/X/OTHER", "VN/GOV/B/SVC/allowedMethods", "/")
	if err != nil || string(body) != `{"service":[]}` {
		t.Fatalf("no rights: %v %s", err, body)
	}
}

// TestGetOpenAPI: getOpenAPI (Service Metadata Protocol for REST §5,
// Annex A) needs the serviceCode query parameter (bad_request, 400, when
// it is missing or empty; its name is matched without case, as X-Road's
// handler does) and answers the stored description as it is stored:
// application/json for JSON, text/yaml for YAML (a byte-order mark and
// leading white space do not hide the form). An unknown service, or one
// without description, is unknown_service.
func TestGetOpenAPI(t *testing.T) {
	pr := metaProvider(t)
	for _, tc := range []struct {
		path, ctype, body string
		err               error
	}{
		{"/?serviceCode=pets", openAPIJSON, metaOpenAPI, nil},
		{"/?servicecode=pets", openAPIJSON, metaOpenAPI, nil},
		{"/?serviceCode=docs&version=v2", openAPIYAML, metaYAML, nil},
		{"/", "", "", exchange.ErrBadRequest},
		{"/?serviceCode=", "", "", exchange.ErrBadRequest},
		{"/?version=v2", "", "", exchange.ErrBadRequest},
		{"/?serviceCode=ghost", "", "", exchange.ErrUnknownService},
		{"/?serviceCode=plain", "", "", exchange.ErrUnknownService},
		{"/?serviceCode=docs&version=v9", "", "", exchange.ErrUnknownService},
	} {
		status, ctype, body, err := metaCall(t, pr, "VN/GOV/A/IS", "VN/GOV/B/SVC/getOpenAPI", tc.path)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: %v, want %v", tc.path, err, tc.err)
			}
			continue
		}
		if err != nil || status != 200 || ctype != tc.ctype || string(body) != tc.body {
			t.Errorf("%s: %d %q %v %.40q", tc.path, status, ctype, err, body)
		}
	}
	if exchange.Codes.Status(exchange.ErrBadRequest) != 400 {
		t.Fatal("bad_request is not 400")
	}
}
