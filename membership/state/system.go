package state

import (
	"fmt"
	"io"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// RequestKind tells a member's registration from a member's request for
// another information system.
type RequestKind string

// Request kinds ("" is a registration: a new member, its system and node).
const (
	KindRegistration RequestKind = ""
	KindSystem       RequestKind = "system"
)

// SubmitSystem is an active member's request for another information
// system (subsystem): the Form 01/02 fields of that system. The API
// submits it once the member's signing key has signed it; an operator
// approves it (ApproveRegistration without certificates) or rejects it.
type SubmitSystem struct {
	Header
	RequestID    string       `json:"request_id"` // chosen by the member; a replay is a duplicate
	Member       string       `json:"member"`
	Registration Registration `json:"registration"`
}

func (*SubmitSystem) Type() CommandType { return CmdSubmitSystem }

func (c *SubmitSystem) Prepare(rnd io.Reader) error {
	if err := requestID(rnd, &c.RequestID); err != nil {
		return err
	}
	if err := checkMember(c.Member); err != nil {
		return err
	}
	return c.Registration.Validate()
}

func (s *State) applySubmitSystem(c *SubmitSystem, now time.Time, actor string) (string, string, error) {
	m, ok := s.Members[c.Member]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownMember, c.Member)
	}
	if m.Status != ident.MemberActive {
		return "", "", fmt.Errorf("%w: member %s is %s", ErrIllegalTransition, c.Member, m.Status)
	}
	if err := c.Registration.Validate(); err != nil {
		return "", "", err
	}
	if _, ok := s.Requests[c.RequestID]; ok {
		return "", "", fmt.Errorf("%w: %s", ErrDuplicateRequest, c.RequestID)
	}
	subID := c.Member + "/" + c.Registration.System.Code
	if _, ok := s.Subsystems[subID]; ok {
		return "", "", fmt.Errorf("%w: subsystem %s exists", ErrIllegalTransition, subID)
	}
	for _, r := range s.Requests {
		if r.Kind == KindSystem && r.Status == RequestPending && r.Member.String() == c.Member && r.Registration.System.Code == c.Registration.System.Code {
			return "", "", fmt.Errorf("%w: subsystem %s is already requested by %s", ErrIllegalTransition, subID, r.ID)
		}
	}
	s.Requests[c.RequestID] = Request{ID: c.RequestID, Kind: KindSystem, Member: m.ID, Registration: c.Registration.Clone(),
		Status: RequestPending, SubmittedAt: now, SubmittedBy: actor}
	return c.RequestID, "member " + c.Member + " requests system " + c.Registration.System.Code, nil
}

// approveSystem adds the subsystem of an approved system request.
func (s *State) approveSystem(r Request, now time.Time, actor string) (string, string, error) {
	mid := r.Member.String()
	if m, ok := s.Members[mid]; !ok || m.Status != ident.MemberActive {
		return "", "", fmt.Errorf("%w: member %s is not active", ErrIllegalTransition, mid)
	}
	subID := mid + "/" + r.Registration.System.Code
	if _, ok := s.Subsystems[subID]; ok {
		return "", "", fmt.Errorf("%w: subsystem %s exists", ErrIllegalTransition, subID)
	}
	decided := now
	r.Status, r.DecidedAt, r.DecidedBy = RequestApproved, &decided, actor
	s.Requests[r.ID] = r
	s.Subsystems[subID] = Subsystem{ID: subID, Member: mid, Code: r.Registration.System.Code, Name: r.Registration.System.Name,
		Status: ident.SubsystemActive, CreatedAt: now, UpdatedAt: now}
	return r.ID, "subsystem " + subID + " active", nil
}
