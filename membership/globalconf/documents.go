package globalconf

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Caps of a subsystem's document declaration.
const (
	MaxDataTypes   = 64  // data types one subsystem declares
	MaxDataTypeLen = 128 // bytes of one data type
)

// Documents is what a subsystem takes by asynchronous document delivery
// (docs/delivery.md). A subsystem without a declaration takes documents
// of any data type addressed to it, and is not its member's inbox.
type Documents struct {
	// Accepts lists the data types it takes, sorted; empty: any.
	Accepts []string `json:"accepts,omitempty"`
	// MemberInbox: documents addressed to the member itself (a member ID,
	// no subsystem) go to this subsystem. At most one per member.
	MemberInbox bool `json:"member_inbox,omitempty"`
}

// Takes reports whether a subsystem with declaration d (nil: none) takes
// documents of dataType.
func (d *Documents) Takes(dataType string) bool {
	return d == nil || len(d.Accepts) == 0 || slices.Contains(d.Accepts, dataType)
}

// CheckDataType accepts a data type: 1..MaxDataTypeLen bytes of UTF-8
// without control characters or commas.
func CheckDataType(s string) error {
	if s == "" || len(s) > MaxDataTypeLen || !utf8.ValidString(s) {
		return fmt.Errorf("data type %.32q: must be 1..%d bytes of UTF-8", s, MaxDataTypeLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == ',' {
			return fmt.Errorf("data type %.32q: holds a control character or a comma", s)
		}
	}
	return nil
}

// Check validates a declaration: at most MaxDataTypes valid data types,
// sorted, none twice.
func (d *Documents) Check() error {
	if len(d.Accepts) > MaxDataTypes {
		return fmt.Errorf("%d data types (at most %d)", len(d.Accepts), MaxDataTypes)
	}
	for i, t := range d.Accepts {
		if err := CheckDataType(t); err != nil {
			return err
		}
		if i > 0 && strings.Compare(d.Accepts[i-1], t) >= 0 {
			return fmt.Errorf("data types not sorted or %q listed twice", t)
		}
	}
	return nil
}

// validateDocuments checks the subsystems' declarations: each valid, one
// member inbox per member at most.
func (d *Document) validateDocuments() error {
	inbox := map[string]string{}
	for _, s := range d.Subsystems {
		if s.Documents == nil {
			continue
		}
		if err := s.Documents.Check(); err != nil {
			return malformedf("subsystem %s documents: %v", s.ID, err)
		}
		if !s.Documents.MemberInbox {
			continue
		}
		if other, ok := inbox[s.Member()]; ok {
			return malformedf("member %s has two document inboxes, %s and %s", s.Member(), other, s.ID)
		}
		inbox[s.Member()] = s.ID
	}
	return nil
}
