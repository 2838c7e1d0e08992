package consumer

import (
	"net/http"

	"github.com/dxl-network/dxl/internal/ident"
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

// ClientList is the answer to listClients: the members and subsystems of
// the network, from the signed configuration.
type ClientList struct {
	Member []ClientEntry `json:"member"`
}

// ClientEntry is one member or subsystem.
type ClientEntry struct {
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	ObjectType    string `json:"object_type"` // MEMBER or SUBSYSTEM
	XRoadInstance string `json:"xroad_instance"`
	MemberClass   string `json:"member_class"`
	MemberCode    string `json:"member_code"`
	SubsystemCode string `json:"subsystem_code,omitempty"`
}

func (a *API) listClients(w http.ResponseWriter, _ *http.Request) {
	v := a.cfg.Views.Latest()
	if v == nil {
		a.fail(w, "", exchange.ErrNoConfig)
		return
	}
	out := ClientList{Member: []ClientEntry{}}
	for _, m := range v.Doc().Members {
		if m.Status != "active" {
			continue
		}
		mid, err := ident.ParseMember(m.ID, "")
		if err != nil {
			continue
		}
		out.Member = append(out.Member, ClientEntry{ID: m.ID, Name: m.Name, ObjectType: "MEMBER",
			XRoadInstance: mid.Instance, MemberClass: mid.Class, MemberCode: mid.Code})
	}
	for _, s := range v.Doc().Subsystems {
		sid, err := services.ParseSubsystemID(s.ID)
		if err != nil || s.Status != "active" || !v.MemberActive(sid.Member.String()) {
			continue
		}
		out.Member = append(out.Member, ClientEntry{ID: s.ID, ObjectType: "SUBSYSTEM", XRoadInstance: sid.Member.Instance,
			MemberClass: sid.Member.Class, MemberCode: sid.Member.Code, SubsystemCode: sid.Subsystem})
	}
	exchange.WriteJSON(w, http.StatusOK, out)
}
