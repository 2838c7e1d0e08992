package state

import (
	"github.com/dxl-network/dxl/ca"
)

// Internals the external tests (package state_test) check.

// IndexForTest returns the derived index.
func (s *State) IndexForTest() any { return s.index() }

// DeriveForTest runs the proposer-side certificate derivation.
func (c *Cert) DeriveForTest(profile ca.Profile) error { return c.derive(profile) }

// MaxCatalogRows is the catalogue row limit.
const MaxCatalogRows = maxCatalogRows

// CommandTypeForTest is one row of the command-type table.
type CommandTypeForTest struct {
	Name string
	New  func() Command
}

// CommandTypesForTest returns the command-type table.
func CommandTypesForTest() map[CommandType]CommandTypeForTest {
	out := map[CommandType]CommandTypeForTest{}
	for t, c := range commandTypes {
		out[t] = CommandTypeForTest{Name: c.name, New: c.new}
	}
	return out
}
