package node_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/devnet"
	"github.com/dxl-network/dxl/node"
)

// TestEndToEndGovStackIM runs the scenarios of the GovStack Information
// Mediator BB test features (test/openAPI/features: list_clients,
// list_methods, allowed_methods, get_open_api) through two real nodes,
// with this network's identifiers in place of the mock's, and a service
// call the way the IM BB specification's service access (§8.1) makes it:
// the client named in Information-Mediator-Client or X-GovStack-Client.
func TestEndToEndGovStackIM(t *testing.T) {
	t.Parallel()
	n := sharedNet(t)
	c := n.client(t, true)
	api := "https://" + n.A.Node.APIAddr()
	provider := n.SubsystemID(devnet.AgencyB)
	instance := strings.Split(provider, "/")[0]
	const jsonUTF8 = "application/json; charset=utf-8"

	// list_clients.feature, "Successfully retrieved the list of clients":
	// GET /r1/listClients (spec §8.2.1) with serviceId and instanceId, 200,
	// application/json, a member list (JSON without asking for it).
	t.Run("ListClients", func(t *testing.T) {
		a := do(t, c, "GET", api+"/r1/listClients?serviceId=serviceId1&instanceId="+instance, "", nil)
		var l node.ClientList
		if err := json.Unmarshal(a.body, &l); err != nil || a.status != 200 || a.header.Get("Content-Type") != jsonUTF8 || len(l.Member) == 0 {
			t.Fatalf("%d %q %s", a.status, a.header.Get("Content-Type"), a.body)
		}
		for _, m := range l.Member {
			if m.ID.XRoadInstance != instance {
				t.Fatalf("instanceId not applied: %+v", m)
			}
		}
		a = do(t, c, "GET", api+"/r1/listClients?instanceId=NO-SUCH", "", nil)
		if a.status != 200 || strings.TrimSpace(string(a.body)) != `{"member":[]}` {
			t.Fatalf("other instance: %d %s", a.status, a.body)
		}
	})

	// list_methods.feature and allowed_methods.feature: GET
	// /r1/{instance}/{class}/{member}/{application}/listMethods|allowedMethods
	// with serviceId and the client header: 200, application/json; charset=utf-8.
	for _, op := range []string{"listMethods", "allowedMethods"} {
		t.Run(op, func(t *testing.T) {
			for _, h := range []string{"Information-Mediator-Client", "X-GovStack-Client"} {
				a := do(t, c, "GET", api+"/r1/"+provider+"/"+op+"?serviceId=serviceId1", "", nil, h, n.ClientA)
				var ml node.MethodList
				if err := json.Unmarshal(a.body, &ml); err != nil || a.status != 200 || a.header.Get("Content-Type") != jsonUTF8 || len(ml.Service) == 0 {
					t.Fatalf("%s: %d %q %s", h, a.status, a.header.Get("Content-Type"), a.body)
				}
			}
		})
	}

	// get_open_api.feature: with Information-Mediator-Client, getOpenAPI
	// ?serviceCode= is 200 application/json; charset=utf-8; a missing or
	// empty serviceCode is 400. A well-formed code or path part that
	// names nothing is 404 here (the feature's mock answers 400).
	t.Run("GetOpenAPI", func(t *testing.T) {
		base := api + "/r1/" + provider + "/getOpenAPI"
		a := do(t, c, "GET", base+"?serviceCode="+devnet.SampleServiceCode, "", nil, "Information-Mediator-Client", n.ClientA)
		if a.status != 200 || a.header.Get("Content-Type") != jsonUTF8 || !json.Valid(a.body) {
			t.Fatalf("%d %q %.80s", a.status, a.header.Get("Content-Type"), a.body)
		}
		exchangeError(t, do(t, c, "GET", base, "", nil, "Information-Mediator-Client", n.ClientA), 400, "bad_request")
		exchangeError(t, do(t, c, "GET", base+"?serviceCode=", "", nil, "Information-Mediator-Client", n.ClientA), 400, "bad_request")
		exchangeError(t, do(t, c, "GET", base+"?serviceCode=_invalid", "", nil, "Information-Mediator-Client", n.ClientA), 404, "unknown_service")
		exchangeError(t, do(t, c, "GET", api+"/r1/1nval1d/GOV/x/y/getOpenAPI?serviceCode=a", "", nil, "Information-Mediator-Client", n.ClientA), 404, "unknown_service")
		exchangeError(t, do(t, c, "GET", api+"/r1/a b/GOV/x/y/getOpenAPI?serviceCode=a", "", nil), 400, "bad_request")
	})

	// §8.1 service access: the call with the GovStack client header, with
	// content negotiation and the provider's headers, as an X-Road client
	// gets it; the header is a control header (the backend never sees it),
	// and a client it does not name is refused.
	t.Run("ServiceAccess", func(t *testing.T) {
		for _, h := range []string{"Information-Mediator-Client", "X-GovStack-Client"} {
			a := do(t, c, "GET", n.url("/citizens/7"), "", nil, h, n.ClientA, "Accept", "application/xml")
			if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "application/xml") || !strings.Contains(string(a.body), "<id>7</id>") ||
				a.header.Get("X-Road-Client") != n.ClientA {
				t.Fatalf("%s: %d %v %s", h, a.status, a.header, a.body)
			}
			a = do(t, c, "GET", n.url("/headers"), "", nil, h, n.ClientA)
			var seen http.Header
			if err := json.Unmarshal(a.body, &seen); err != nil || a.status != 200 || a.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s /headers: %d %v %s", h, a.status, a.header, a.body)
			}
			if seen.Get(h) != "" {
				t.Errorf("backend saw %s", h)
			}
			exchangeError(t, do(t, c, "GET", n.url("/citizens/7"), "", nil, h, n.SubsystemID(devnet.AgencyB)), 403, "client_mismatch")
		}
	})
}
