package state

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
)

// SetDocuments declares what a subsystem takes by asynchronous document
// delivery: the data types it accepts (empty: any) and whether documents
// addressed to its member go to it. MemberInbox moves the member's inbox
// to this subsystem from any other. Empty Accepts without MemberInbox
// removes the declaration.
type SetDocuments struct {
	Header
	Subsystem   string   `json:"subsystem"` // INSTANCE/CLASS/CODE/SUBSYSTEM
	Accepts     []string `json:"accepts,omitempty"`
	MemberInbox bool     `json:"member_inbox,omitempty"`
}

func (*SetDocuments) Type() CommandType { return CmdSetDocuments }

// Prepare checks the subsystem ID and sorts the data types, refusing
// invalid ones and repeats.
func (c *SetDocuments) Prepare(io.Reader) error {
	if _, err := splitSubsystem(c.Subsystem); err != nil {
		return err
	}
	c.Accepts = slices.Clone(c.Accepts)
	slices.Sort(c.Accepts)
	d := globalconf.Documents{Accepts: c.Accepts}
	if err := d.Check(); err != nil {
		return Invalidf("documents of %s: %v", c.Subsystem, err)
	}
	return nil
}

func (s *State) applySetDocuments(c *SetDocuments, now time.Time) (string, string, error) {
	sub, ok := s.Subsystems[c.Subsystem]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownSubsystem, c.Subsystem)
	}
	if st := s.Members[sub.Member].Status; sub.Status != ident.SubsystemActive || st == ident.MemberRevoked || st == ident.MemberPending {
		return "", "", fmt.Errorf("%w: subsystem %s (%s) of a %s member takes no documents", ErrIllegalTransition, c.Subsystem, sub.Status, st)
	}
	d := &globalconf.Documents{Accepts: slices.Clone(c.Accepts), MemberInbox: c.MemberInbox}
	if err := d.Check(); err != nil {
		return "", "", Invalidf("documents of %s: %v", c.Subsystem, err)
	}
	var detail []string
	if c.MemberInbox {
		for _, id := range SortedKeys(s.Subsystems) {
			other := s.Subsystems[id]
			if id != c.Subsystem && other.Member == sub.Member && other.Documents != nil && other.Documents.MemberInbox {
				other.Documents = copyDocuments(other.Documents)
				other.Documents.MemberInbox = false
				if len(other.Documents.Accepts) == 0 {
					other.Documents = nil
				}
				other.UpdatedAt = now
				s.Subsystems[id] = other
				detail = append(detail, "member inbox moved from "+id)
			}
		}
	}
	sub.Documents, sub.UpdatedAt = d, now
	if len(d.Accepts) == 0 && !d.MemberInbox {
		sub.Documents = nil
	}
	s.Subsystems[c.Subsystem] = sub
	detail = append(detail, documentsDetail(sub.Documents))
	return c.Subsystem, strings.Join(detail, "; "), nil
}

// documentsDetail describes a declaration for the history.
func documentsDetail(d *globalconf.Documents) string {
	if d == nil {
		return "documents of any data type; not the member's inbox"
	}
	out := "documents of any data type"
	if len(d.Accepts) > 0 {
		out = "documents of types " + strings.Join(d.Accepts, ", ")
	}
	if d.MemberInbox {
		out += "; the member's inbox"
	}
	return out
}

// copyDocuments is a deep copy of d.
func copyDocuments(d *globalconf.Documents) *globalconf.Documents {
	if d == nil {
		return nil
	}
	return &globalconf.Documents{Accepts: slices.Clone(d.Accepts), MemberInbox: d.MemberInbox}
}
