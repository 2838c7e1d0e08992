package ident

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is returned for an identifier that does not parse.
var ErrInvalid = errors.New("ident: invalid identifier")

// MaxPart is the longest identifier part accepted.
const MaxPart = 64

// Member identifies an agency: INSTANCE/CLASS/CODE.
type Member struct {
	Instance string `json:"instance"`
	Class    string `json:"class"`
	Code     string `json:"code"`
}

// String returns INSTANCE/CLASS/CODE.
func (m Member) String() string { return m.Instance + "/" + m.Class + "/" + m.Code }

// IsZero reports whether m is the zero value.
func (m Member) IsZero() bool { return m == Member{} }

// ParseMember parses INSTANCE/CLASS/CODE. When s has only CLASS/CODE the
// instance defaults to defInstance (if that is empty, the short form is an
// error). A full form must name defInstance when defInstance is set.
func ParseMember(s, defInstance string) (Member, error) {
	parts := strings.Split(s, "/")
	var m Member
	switch len(parts) {
	case 2:
		if defInstance == "" {
			return m, fmt.Errorf("%w: %q: want INSTANCE/CLASS/CODE", ErrInvalid, s)
		}
		m = Member{Instance: defInstance, Class: parts[0], Code: parts[1]}
	case 3:
		m = Member{Instance: parts[0], Class: parts[1], Code: parts[2]}
		if defInstance != "" && m.Instance != defInstance {
			return Member{}, fmt.Errorf("%w: %q belongs to instance %q, not %q", ErrInvalid, s, m.Instance, defInstance)
		}
	default:
		return m, fmt.Errorf("%w: %q: want [INSTANCE/]CLASS/CODE", ErrInvalid, s)
	}
	for _, p := range []string{m.Instance, m.Class, m.Code} {
		if err := CheckPart(p); err != nil {
			return Member{}, fmt.Errorf("%q: %w", s, err)
		}
	}
	return m, nil
}

// CheckPart validates one identifier part: 1..MaxPart characters from
// A-Z a-z 0-9 . - _
func CheckPart(p string) error {
	if p == "" || len(p) > MaxPart {
		return fmt.Errorf("%w: part %q must be 1..%d characters", ErrInvalid, p, MaxPart)
	}
	for _, r := range p {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_'
		if !ok {
			return fmt.Errorf("%w: part %q has character %q (allowed: letters, digits, . - _)", ErrInvalid, p, r)
		}
	}
	return nil
}
