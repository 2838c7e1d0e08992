package exchange

import (
	"crypto/ed25519"
	"fmt"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
)

// Secret is how a Secret call's bodies are sealed: each to the key of the
// member that reads it (node/envelope, seal.go).
type Secret struct {
	// Consumer and Provider are the two members' seal keys: the answer is
	// sealed to Consumer, the request to Provider.
	Consumer, Provider ed25519.PublicKey
}

// CheckClassification refuses a call the nodes may not carry (R-K1,
// R-K5), with ErrClassificationRefused, and says how a call they carry is
// sealed. Top secret never crosses the network, whatever a consumer node
// sends. Secret is carried only between two members whose seal keys the
// configuration lists (their registrations declare secret data and their
// signing keys are Ed25519), its bodies sealed end to end to those keys:
// the Secret returned is non-nil then. Public and internal go with the
// channel encryption alone (nil, nil). The consumer node checks before
// anything is sent, the provider node again before it reads the body.
// svc nil (not in the catalogue) passes: the catalogue check reports it.
func CheckClassification(v *confview.View, svc *globalconf.Service, consumer, provider string) (*Secret, error) {
	if svc == nil {
		return nil, nil
	}
	switch c := svc.Classification.OrDefault(); c {
	case ident.ClassPublic, ident.ClassInternal:
		return nil, nil
	case ident.ClassTopSecret:
		return nil, fmt.Errorf("%w: %s is top_secret: it never crosses the network", ErrClassificationRefused, svc.ID())
	case ident.ClassSecret:
		s := &Secret{Consumer: v.SealKey(consumer), Provider: v.SealKey(provider)}
		for _, m := range []struct {
			member string
			key    ed25519.PublicKey
		}{{consumer, s.Consumer}, {provider, s.Provider}} {
			if m.key == nil {
				return nil, fmt.Errorf("%w: %s is secret and member %s has no seal key in the global configuration "+
					"(its registration must declare secret data and its signing key be Ed25519)", ErrClassificationRefused, svc.ID(), m.member)
			}
		}
		return s, nil
	default:
		return nil, fmt.Errorf("%w: %s has unknown classification %q", ErrClassificationRefused, svc.ID(), c)
	}
}
