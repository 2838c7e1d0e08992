package provider

import (
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// checkParties checks both parties of a call against the signed
// configuration before the gate: the client subsystem registered and
// active, of an active member (unknown_client; member_suspended or
// member_revoked when the configuration says so), and the service's
// provider subsystem likewise (unknown_service).
func checkParties(v *confview.View, client services.SubsystemID, sid services.ServiceID) error {
	if err := exchange.CheckSubsystem(v, client.Member.String(), client.String(), exchange.ErrUnknownClient); err != nil {
		return err
	}
	return exchange.CheckSubsystem(v, sid.Provider.Member.String(), sid.Provider.String(), exchange.ErrUnknownService)
}
