package state

import (
	"fmt"

	"github.com/dxl-network/dxl/internal/ident"
)

// Service classification (R-K1, R-K5). Every catalogue entry carries one
// of the four levels; a publisher that names none gets
// ident.DefaultClassification (internal), written explicitly into the
// entry and the global configuration.
//
// The member's registration (Form 01) declares the highest level its
// system exchanges, public to secret; a service may not be published
// above it (ErrClassificationCap). Top secret is the exception: such data
// never crosses the network, so a top_secret entry only lists that the
// data exists — every node refuses to call or serve it — and the cap,
// which can never reach top_secret, does not apply to it.

// checkServiceClass accepts an empty level (the default) or one of the four.
func checkServiceClass(c Classification) error {
	if c != "" && !c.Valid() {
		return Invalidf("classification %q: want public, internal, secret or top_secret", c)
	}
	return nil
}

// publishClass is the level c publishes at for subsystem sub: c's, or
// the default, within the member's registered highest classification.
func (s *State) publishClass(c *PublishService, sub Subsystem) (Classification, error) {
	if err := checkServiceClass(c.Classification); err != nil {
		return "", err
	}
	class := c.Classification.OrDefault()
	if class == ident.ClassTopSecret {
		return class, nil
	}
	limit := s.registeredHighest(sub.Member)
	if class.Rank() > limit.Rank() {
		return "", fmt.Errorf("%w: %s is %s, member %s registered at most %s", ErrClassificationCap,
			c.Subsystem, class, sub.Member, limit)
	}
	return class, nil
}

// registeredHighest is the highest classification member's admitting
// registration declared, or public when there is none on record.
func (s *State) registeredHighest(member string) Classification {
	m, ok := s.Members[member]
	if !ok {
		return ClassPublic
	}
	if r, ok := s.Requests[m.RequestID]; ok && r.Registration.HighestClassification.Valid() {
		return r.Registration.HighestClassification
	}
	return ClassPublic
}
