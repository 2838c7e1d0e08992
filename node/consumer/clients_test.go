package consumer

import (
	"encoding/json"
	"encoding/xml"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestListClientsJSON: with Accept: application/json, listClients is the
// JSON clientList of X-Road's Service Metadata Protocol (§2, Annex B
// "OpenAPI definition", example C.1 JSON Response): member entries with
// an id object (object_type, xroad_instance, member_class, member_code,
// subsystem_code for a subsystem) and the member's name; only active
// members and the active subsystems of active members.
func TestListClientsJSON(t *testing.T) {
	a := New(Config{Now: time.Now, Views: fixedViews{memberView(t)}})
	r := httptest.NewRequest("GET", "/listClients", nil)
	r.Header.Set("Accept", "text/html;q=0.5, application/json")
	w := httptest.NewRecorder()
	a.listClients(w, r)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got struct {
		Member []struct {
			ID   map[string]string `json:"id"`
			Name *string           `json:"name"`
		} `json:"member"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"object_type": "MEMBER", "xroad_instance": "VN", "member_class": "GOV", "member_code": "A"},
		{"object_type": "MEMBER", "xroad_instance": "VN", "member_class": "GOV", "member_code": "P"},
		{"object_type": "SUBSYSTEM", "xroad_instance": "VN", "member_class": "GOV", "member_code": "A", "subsystem_code": "IS"},
		{"object_type": "SUBSYSTEM", "xroad_instance": "VN", "member_class": "GOV", "member_code": "P", "subsystem_code": "SVC"},
	}
	if len(got.Member) != len(want) {
		t.Fatalf("%s", w.Body)
	}
	for i, m := range got.Member {
		if len(m.ID) != len(want[i]) {
			t.Errorf("member %d: id %v, want %v", i, m.ID, want[i])
		}
		for k, v := range want[i] {
			if m.ID[k] != v {
				t.Errorf("member %d: id %v, want %v", i, m.ID, want[i])
			}
		}
	}
	if strings.Contains(w.Body.String(), `"VN/GOV/A"`) {
		t.Errorf("id is an object, not the text form: %s", w.Body)
	}
}

// TestListClientsXMLByDefault: without Accept: application/json the
// answer is text/xml, the clientList element of the Service Metadata
// Protocol (§2, Annex A schema, example C.1 XML Response), its id in the
// identifiers namespace with the objectType attribute; ?xRoadInstance=
// of another instance lists nothing (§2); GovStack IM Directory
// Services' ?instanceId= is the same filter.
func TestListClientsXMLByDefault(t *testing.T) {
	a := New(Config{Now: time.Now, Views: fixedViews{memberView(t)}})
	w := httptest.NewRecorder()
	a.listClients(w, httptest.NewRequest("GET", "/listClients", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/xml; charset=utf-8" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got struct {
		XMLName xml.Name `xml:"http://x-road.eu/xsd/xroad.xsd clientList"`
		Member  []struct {
			ID struct {
				ObjectType string `xml:"http://x-road.eu/xsd/identifiers objectType,attr"`
				Instance   string `xml:"http://x-road.eu/xsd/identifiers xRoadInstance"`
				Class      string `xml:"http://x-road.eu/xsd/identifiers memberClass"`
				Code       string `xml:"http://x-road.eu/xsd/identifiers memberCode"`
				Subsystem  string `xml:"http://x-road.eu/xsd/identifiers subsystemCode"`
			} `xml:"http://x-road.eu/xsd/xroad.xsd id"`
		} `xml:"http://x-road.eu/xsd/xroad.xsd member"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, w.Body)
	}
	if len(got.Member) != 4 || got.Member[0].ID.ObjectType != "MEMBER" || got.Member[0].ID.Instance != "VN" ||
		got.Member[0].ID.Class != "GOV" || got.Member[0].ID.Code != "A" || got.Member[3].ID.ObjectType != "SUBSYSTEM" ||
		got.Member[3].ID.Subsystem != "SVC" {
		t.Fatalf("%+v\n%s", got, w.Body)
	}

	w = httptest.NewRecorder()
	a.listClients(w, httptest.NewRequest("GET", "/listClients?xRoadInstance=EE", nil))
	if w.Code != 200 || strings.Contains(w.Body.String(), "<ns2:member>") {
		t.Fatalf("other instance: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	a.listClients(w, httptest.NewRequest("GET", "/listClients?instanceId=VN", nil))
	if w.Code != 200 || strings.Count(w.Body.String(), "<ns2:member>") != 4 {
		t.Fatalf("GovStack instanceId: %d %s", w.Code, w.Body)
	}
}

// TestClientListXMLEscapes: names are XML text, escaped.
func TestClientListXMLEscapes(t *testing.T) {
	l := ClientList{Member: []ClientEntry{{Name: `A & <B>`, ID: ClientID{ObjectType: "MEMBER", XRoadInstance: "VN", MemberClass: "GOV", MemberCode: "A"}}}}
	var v struct {
		Member []struct {
			Name string `xml:"name"`
		} `xml:"member"`
	}
	if err := xml.Unmarshal(l.XML(), &v); err != nil || len(v.Member) != 1 || v.Member[0].Name != `A & <B>` {
		t.Fatalf("%v %+v\n%s", err, v, l.XML())
	}
}
