package exchange

import (
	"errors"
	"net/http"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
)

// testView is a configuration with one member of each status, an active
// and a cancelled subsystem of the active member, and a subsystem of each
// other member.
func testView(t *testing.T) *confview.View {
	t.Helper()
	v, err := confview.New(&globalconf.Document{CAChain: [][]byte{testutil.RootDER(t)},
		Members: []globalconf.Member{{ID: "VN/GOV/A", Status: ident.MemberActive}, {ID: "VN/GOV/S", Status: ident.MemberSuspended},
			{ID: "VN/GOV/R", Status: ident.MemberRevoked}},
		Subsystems: []globalconf.Subsystem{{ID: "VN/GOV/A/IS", Status: ident.SubsystemActive}, {ID: "VN/GOV/A/OLD", Status: ident.SubsystemCancelled},
			{ID: "VN/GOV/S/IS", Status: ident.SubsystemActive}, {ID: "VN/GOV/R/IS", Status: ident.SubsystemActive}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCheckSubsystem(t *testing.T) {
	v := testView(t)
	for _, tc := range []struct {
		member, sub string
		want        error
		code        string
	}{
		{"VN/GOV/A", "VN/GOV/A/IS", nil, ""},
		{"VN/GOV/A", "VN/GOV/A/GHOST", ErrUnknownClient, "unknown_client"},
		{"VN/GOV/A", "VN/GOV/A/OLD", ErrUnknownClient, "unknown_client"},
		{"VN/GOV/X", "VN/GOV/X/IS", ErrUnknownClient, "unknown_client"},
		{"VN/GOV/S", "VN/GOV/S/IS", ErrMemberSuspended, "member_suspended"},
		{"VN/GOV/R", "VN/GOV/R/IS", ErrMemberRevoked, "member_revoked"},
	} {
		err := CheckSubsystem(v, tc.member, tc.sub, ErrUnknownClient)
		if !errors.Is(err, tc.want) || (err != nil && (Codes.Code(err) != tc.code || Status(err) != http.StatusForbidden)) {
			t.Errorf("%s: %v (%s %d), want %v", tc.sub, err, Codes.Code(err), Status(err), tc.want)
		}
	}
	// A provider node's refusal keeps its status at the consumer.
	for _, code := range []string{"unknown_client", "member_suspended", "member_revoked"} {
		if s := RemoteStatus(code); s != http.StatusForbidden {
			t.Errorf("remote %s: %d", code, s)
		}
	}
}
