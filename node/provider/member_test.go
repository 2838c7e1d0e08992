package provider

import (
	"errors"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// TestCheckParties: the provider refuses a client subsystem the signed
// configuration does not list (or lists cancelled), a client of a
// suspended or revoked member with that status, and a call to a provider
// subsystem that is not registered.
func TestCheckParties(t *testing.T) {
	der := testutil.RootDER(t)
	v, err := confview.New(&globalconf.Document{CAChain: [][]byte{der},
		Members: []globalconf.Member{{ID: "VN/GOV/B", Status: ident.MemberActive}, {ID: "VN/GOV/A", Status: ident.MemberActive},
			{ID: "VN/GOV/S", Status: ident.MemberSuspended}, {ID: "VN/GOV/R", Status: ident.MemberRevoked}},
		Subsystems: []globalconf.Subsystem{{ID: "VN/GOV/B/SVC", Status: ident.SubsystemActive}, {ID: "VN/GOV/A/IS", Status: ident.SubsystemActive},
			{ID: "VN/GOV/A/OLD", Status: ident.SubsystemCancelled}, {ID: "VN/GOV/S/IS", Status: ident.SubsystemActive},
			{ID: "VN/GOV/R/IS", Status: ident.SubsystemActive}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		client, service string
		want            error
	}{
		{"VN/GOV/A/IS", "VN/GOV/B/SVC/data", nil},
		{"VN/GOV/A/GHOST", "VN/GOV/B/SVC/data", exchange.ErrUnknownClient},
		{"VN/GOV/A/OLD", "VN/GOV/B/SVC/data", exchange.ErrUnknownClient},
		{"VN/GOV/X/IS", "VN/GOV/B/SVC/data", exchange.ErrUnknownClient},
		{"VN/GOV/S/IS", "VN/GOV/B/SVC/data", exchange.ErrMemberSuspended},
		{"VN/GOV/R/IS", "VN/GOV/B/SVC/listMethods", exchange.ErrMemberRevoked},
		{"VN/GOV/A/IS", "VN/GOV/B/GONE/data", exchange.ErrUnknownService},
	} {
		client, _ := services.ParseSubsystemID(tc.client)
		sid, _ := services.ParseServiceID(tc.service)
		if err := checkParties(v, client, sid); !errors.Is(err, tc.want) {
			t.Errorf("%s → %s: %v, want %v", tc.client, tc.service, err, tc.want)
		}
	}
}
