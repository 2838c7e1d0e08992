package exchange

import (
	"fmt"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/node/confview"
)

// CheckMember checks a party's member against the signed configuration:
// nil when it is active, ErrMemberSuspended or ErrMemberRevoked when the
// configuration says so, unknown (the caller's sentinel) when it is not
// listed at all.
func CheckMember(v *confview.View, member string, unknown error) error {
	switch st := v.MemberStatus(member); st {
	case ident.MemberActive:
		return nil
	case ident.MemberSuspended:
		return fmt.Errorf("%w: %s is suspended in the global configuration", ErrMemberSuspended, member)
	case ident.MemberRevoked:
		return fmt.Errorf("%w: %s is revoked in the global configuration", ErrMemberRevoked, member)
	case "":
		return fmt.Errorf("%w: %s is not a member in the global configuration", unknown, member)
	default:
		return fmt.Errorf("%w: member %s is %s", unknown, member, st)
	}
}

// CheckSubsystem checks a party's subsystem (INSTANCE/CLASS/CODE/SUBSYSTEM)
// against the signed configuration: its member by CheckMember, then the
// subsystem itself registered and active (unknown otherwise).
func CheckSubsystem(v *confview.View, member, subsystem string, unknown error) error {
	if err := CheckMember(v, member, unknown); err != nil {
		return err
	}
	if !v.SubsystemActive(subsystem) {
		return fmt.Errorf("%w: %s is not an active subsystem in the global configuration", unknown, subsystem)
	}
	return nil
}
