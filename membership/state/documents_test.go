package state_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

// TestSetDocuments: a subsystem declares the data types it takes and
// becomes its member's document inbox; the inbox moves when another
// subsystem of the member takes it; the declaration is in the global
// configuration, which validates; bad declarations change nothing.
func TestSetDocuments(t *testing.T) {
	h := regtest.NewHarness(t)
	a := h.Admit("DOC")
	sys := a.Member + "/SYS"
	op := state.Header{Actor: "op"}
	h.Must(&state.SetDocuments{Header: op, Subsystem: sys, Accepts: []string{"quyet-dinh", "cong-van"}, MemberInbox: true})
	want := &globalconf.Documents{Accepts: []string{"cong-van", "quyet-dinh"}, MemberInbox: true}
	if got := h.St.Subsystems[sys].Documents; !reflect.DeepEqual(got, want) {
		t.Fatalf("documents %+v, want %+v (sorted)", got, want)
	}
	if e := h.St.History[len(h.St.History)-1]; e.Action != "set_documents" || !strings.Contains(e.Detail, "cong-van, quyet-dinh; the member's inbox") {
		t.Fatalf("history %+v", e)
	}

	// A second subsystem of the member (a registration adds only one, so
	// the state gets it as a later registration would).
	other := a.Member + "/VANTHU"
	sub := h.St.Subsystems[sys]
	sub.ID, sub.Code, sub.Documents = other, "VANTHU", nil
	h.St.Subsystems[other] = sub
	h.Must(&state.SetDocuments{Header: op, Subsystem: other, MemberInbox: true})
	if d := h.St.Subsystems[sys].Documents; d == nil || d.MemberInbox || len(d.Accepts) != 2 {
		t.Fatalf("the first subsystem kept the inbox or lost its types: %+v", d)
	}
	if e := h.St.History[len(h.St.History)-1]; !strings.Contains(e.Detail, "member inbox moved from "+sys) {
		t.Fatalf("history %+v", e)
	}
	doc := h.St.GlobalConfig(regtest.T0, nil)
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	inboxes := 0
	for _, s := range doc.Subsystems {
		if s.Documents != nil && s.Documents.MemberInbox {
			inboxes++
			if s.ID != other {
				t.Fatalf("inbox %s", s.ID)
			}
		}
	}
	if inboxes != 1 {
		t.Fatalf("%d inboxes in the configuration", inboxes)
	}
	// No flags: the declaration goes.
	h.Must(&state.SetDocuments{Header: op, Subsystem: other})
	if h.St.Subsystems[other].Documents != nil {
		t.Fatalf("declaration kept: %+v", h.St.Subsystems[other].Documents)
	}

	before := h.St.Version
	for _, c := range []struct {
		cmd  *state.SetDocuments
		want error
	}{
		{&state.SetDocuments{Header: op, Subsystem: a.Member + "/NONE"}, state.ErrUnknownSubsystem},
		{&state.SetDocuments{Header: op, Subsystem: sys, Accepts: []string{"a,b"}}, state.ErrInvalidArgument},
		{&state.SetDocuments{Header: op, Subsystem: sys, Accepts: []string{"x", "x"}}, state.ErrInvalidArgument},
		{&state.SetDocuments{Header: op, Subsystem: sys, Accepts: []string{strings.Repeat("t", 129)}}, state.ErrInvalidArgument},
		{&state.SetDocuments{Header: op, Subsystem: "not-a-subsystem"}, state.ErrInvalidArgument},
	} {
		if err := h.Do(c.cmd, false); !errors.Is(err, c.want) {
			t.Fatalf("%+v: %v, want %v", c.cmd, err, c.want)
		}
	}
	if h.St.Version != before {
		t.Fatalf("a refused command changed the state: version %d → %d", before, h.St.Version)
	}
}

// TestGlobalConfigTwoInboxesRefused: a configuration naming two inboxes
// for one member does not validate.
func TestGlobalConfigTwoInboxesRefused(t *testing.T) {
	h := regtest.NewHarness(t)
	a := h.Admit("TWO")
	doc := h.St.GlobalConfig(regtest.T0, nil)
	s := doc.Subsystems[0]
	s.Documents = &globalconf.Documents{MemberInbox: true}
	twin := s
	twin.ID = a.Member + "/TWIN"
	doc.Subsystems = []globalconf.Subsystem{s, twin}
	if err := doc.Validate(); err == nil || !strings.Contains(err.Error(), "two document inboxes") {
		t.Fatalf("validate: %v", err)
	}
}
