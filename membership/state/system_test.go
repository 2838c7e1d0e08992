package state_test

import (
	"errors"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

// TestSystemRequest: an active member asks for another system; the
// approval adds the subsystem and issues nothing; a second request for
// the same code, or a request of a member that is not active, is refused;
// a rejection leaves the member as it was.
func TestSystemRequest(t *testing.T) {
	h := regtest.NewHarness(t)
	a := h.Admit("SYS")
	form := a.Submit("").Registration
	form.System.Code, form.System.Name = "KHAISINH", "Đăng ký khai sinh"
	op := state.Header{Actor: "op"}
	h.Must(&state.SubmitSystem{Header: state.Header{Actor: "member:" + a.Member}, RequestID: "sys-1", Member: a.Member, Registration: form})
	if r := h.St.Requests["sys-1"]; r.Kind != state.KindSystem || r.Status != state.RequestPending {
		t.Fatalf("request %+v", r)
	}
	if err := h.Do(&state.SubmitSystem{Header: op, RequestID: "sys-2", Member: a.Member, Registration: form}, false); !errors.Is(err, state.ErrIllegalTransition) {
		t.Fatalf("a second pending request for the same system: %v", err)
	}
	serials := len(h.St.Revoked) + len(h.St.Nodes)
	h.Must(&state.ApproveRegistration{Header: op, RequestID: "sys-1"})
	sub := h.St.Subsystems[a.Member+"/KHAISINH"]
	if sub.Status != ident.SubsystemActive || h.St.Requests["sys-1"].Status != state.RequestApproved || h.St.Members[a.Member].Status != ident.MemberActive {
		t.Fatalf("after approval: %+v %+v", sub, h.St.Requests["sys-1"])
	}
	if len(h.St.Revoked)+len(h.St.Nodes) != serials {
		t.Fatal("a system approval changed nodes or certificates")
	}
	if err := h.Do(&state.SubmitSystem{Header: op, RequestID: "sys-3", Member: a.Member, Registration: form}, false); !errors.Is(err, state.ErrIllegalTransition) {
		t.Fatalf("a request for an existing subsystem: %v", err)
	}
	form.System.Code = "HOTICH2"
	h.Must(&state.SubmitSystem{Header: op, RequestID: "sys-4", Member: a.Member, Registration: form})
	h.Must(&state.RejectRegistration{Header: op, RequestID: "sys-4", Reason: "trùng hệ thống"})
	if m, ok := h.St.Members[a.Member]; !ok || m.Status != ident.MemberActive {
		t.Fatalf("a rejected system request touched the member: %+v", m)
	}
	// An approval of a registration still needs its certificates.
	pending := regtest.NewApplicant(t, "PEN")
	h.Must(pending.Submit("req-PEN"))
	if err := h.Do(&state.ApproveRegistration{Header: op, RequestID: "req-PEN"}, false); !errors.Is(err, state.ErrBadCommand) {
		t.Fatalf("a registration approved without certificates: %v", err)
	}
	if err := h.Do(&state.SubmitSystem{Header: op, RequestID: "sys-5", Member: pending.Member, Registration: form}, false); !errors.Is(err, state.ErrIllegalTransition) {
		t.Fatalf("a pending member's system request: %v", err)
	}
}
