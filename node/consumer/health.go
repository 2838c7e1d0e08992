package consumer

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// publicReport is a level-1 report with a summary for callers that did
// not authenticate (node.Health).
type publicReport interface{ Public() any }

// statusOnly is the public summary of a report that has none.
type statusOnly struct {
	Status string `json:"status"`
}

// health answers /health: the whole report to a registered information
// system, the report's public summary (status only, for a report without
// one) to anyone else. It never refuses: load balancers probe it bare.
func (a *API) health(w http.ResponseWriter, r *http.Request) {
	h, down := a.cfg.Health.System()
	status := http.StatusOK
	if down {
		status = http.StatusServiceUnavailable
	}
	if _, err := a.authenticate(r); err != nil {
		if p, ok := h.(publicReport); ok {
			h = p.Public()
		} else {
			h = statusOnly{Status: "ok"}
			if down {
				h = statusOnly{Status: "down"}
			}
		}
	}
	exchange.WriteJSON(w, status, h)
}

func (a *API) serviceHealth(w http.ResponseWriter, r *http.Request) {
	sh, ok, err := a.cfg.Health.Service(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, "", err)
		return
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	exchange.WriteJSON(w, status, sh)
}

// ClientList is the answer to listClients, X-Road's clientList (Service
// Metadata Protocol §2, Annex B's JSON form): the active members and
// subsystems of the network, from the signed configuration.
type ClientList struct {
	Member []ClientEntry `json:"member"`
}

// ClientEntry is one member or subsystem. Name is the member's name, for a
// subsystem too, as X-Road gives it.
type ClientEntry struct {
	ID   ClientID `json:"id"`
	Name string   `json:"name,omitempty"`
}

// ClientID is an X-Road client identifier (XRoadClientIdentifierType).
type ClientID struct {
	ObjectType    string `json:"object_type"` // MEMBER or SUBSYSTEM
	XRoadInstance string `json:"xroad_instance"`
	MemberClass   string `json:"member_class"`
	MemberCode    string `json:"member_code"`
	SubsystemCode string `json:"subsystem_code,omitempty"`
}

// listClients answers GET /listClients: JSON when the Accept header asks
// for application/json, the clientList XML element otherwise (Service
// Metadata Protocol §2). ?xRoadInstance= (GovStack: ?instanceId=) keeps
// the clients of that instance only.
func (a *API) listClients(w http.ResponseWriter, r *http.Request) {
	v := a.cfg.Views.Latest()
	if v == nil {
		a.fail(w, "", exchange.ErrNoConfig)
		return
	}
	instance := r.URL.Query().Get("xRoadInstance")
	if instance == "" {
		instance = r.URL.Query().Get("instanceId") // GovStack IM Directory Services' name
	}
	out := clientsOf(v, instance)
	// GovStack's /r1/listClients is JSON only; X-Road's /listClients is
	// XML unless JSON is asked for.
	if r.URL.Path == "/listClients" && !acceptsJSON(r.Header.Values("Accept")) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(out.XML())
		return
	}
	exchange.WriteJSON(w, http.StatusOK, out)
}

// clientsOf lists the active members of v, then the active subsystems of
// active members; instance, when not empty, keeps that instance's only.
func clientsOf(v *confview.View, instance string) ClientList {
	out := ClientList{Member: []ClientEntry{}}
	names := map[string]string{}
	for _, m := range v.Doc().Members {
		mid, err := ident.ParseMember(m.ID, "")
		if err != nil || m.Status != ident.MemberActive || instance != "" && mid.Instance != instance {
			continue
		}
		names[m.ID] = m.Name
		out.Member = append(out.Member, ClientEntry{Name: m.Name, ID: ClientID{ObjectType: "MEMBER",
			XRoadInstance: mid.Instance, MemberClass: mid.Class, MemberCode: mid.Code}})
	}
	for _, s := range v.Doc().Subsystems {
		sid, err := services.ParseSubsystemID(s.ID)
		if err != nil || s.Status != ident.SubsystemActive || !v.MemberActive(sid.Member.String()) ||
			instance != "" && sid.Member.Instance != instance {
			continue
		}
		out.Member = append(out.Member, ClientEntry{Name: names[sid.Member.String()], ID: ClientID{ObjectType: "SUBSYSTEM",
			XRoadInstance: sid.Member.Instance, MemberClass: sid.Member.Class, MemberCode: sid.Member.Code, SubsystemCode: sid.Subsystem}})
	}
	return out
}

// acceptsJSON reports whether an Accept header names application/json
// (parameters and q-values ignored).
func acceptsJSON(accept []string) bool {
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				return true
			}
		}
	}
	return false
}

// XML is l as X-Road's clientList element (Service Metadata Protocol
// Annex A), with the prefixes of its Annex C.1 example.
func (l ClientList) XML() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	b.WriteString(`<ns2:clientList xmlns:ns1="http://x-road.eu/xsd/identifiers" xmlns:ns2="http://x-road.eu/xsd/xroad.xsd">`)
	for _, m := range l.Member {
		b.WriteString(`<ns2:member><ns2:id ns1:objectType="`)
		_ = xml.EscapeText(&b, []byte(m.ID.ObjectType))
		b.WriteString(`">`)
		element(&b, "ns1:xRoadInstance", m.ID.XRoadInstance)
		element(&b, "ns1:memberClass", m.ID.MemberClass)
		element(&b, "ns1:memberCode", m.ID.MemberCode)
		if m.ID.SubsystemCode != "" {
			element(&b, "ns1:subsystemCode", m.ID.SubsystemCode)
		}
		b.WriteString(`</ns2:id>`)
		if m.Name != "" {
			element(&b, "ns2:name", m.Name)
		}
		b.WriteString(`</ns2:member>`)
	}
	b.WriteString(`</ns2:clientList>` + "\n")
	return b.Bytes()
}

func element(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + name + ">")
}
