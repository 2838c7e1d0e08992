package exchange

import (
	"fmt"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// CheckClassification refuses a call to a service the node may not carry
// (R-K1, R-K5), with ErrClassificationRefused: top_secret always — such
// data never crosses the network, whatever a consumer node sends — and
// secret, whose bodies must be sealed end to end to the members' keys,
// which this version of the node does not do yet, so it fails closed
// rather than carry Secret data over the channel encryption alone. The
// consumer node checks before anything is sent; the provider node again
// before it reads the body. svc nil (not in the catalogue) passes: the
// catalogue check reports it.
func CheckClassification(svc *globalconf.Service) error {
	if svc == nil {
		return nil
	}
	switch c := svc.Classification.OrDefault(); c {
	case ident.ClassPublic, ident.ClassInternal:
		return nil
	case ident.ClassTopSecret:
		return fmt.Errorf("%w: %s is top_secret: it never crosses the network", ErrClassificationRefused, svc.ID())
	case ident.ClassSecret:
		return fmt.Errorf("%w: %s is secret: end-to-end sealing of secret bodies is not available on this node", ErrClassificationRefused, svc.ID())
	default:
		return fmt.Errorf("%w: %s has unknown classification %q", ErrClassificationRefused, svc.ID(), c)
	}
}
