package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// Apply executes c, committed at Raft log index. It is deterministic: it
// reads nothing but s and c (the time is c's header), does no I/O, no
// cryptography and no parsing of certificates. Every handler checks first and
// mutates after, so a business error leaves s exactly as it was. On success
// s.Version becomes index and one HistoryEntry is appended, hash-chained to
// the one before (history.go; SHA-256 over the entry's own fields is the one
// cryptographic step, and it is deterministic).
func (s *State) Apply(index uint64, c Command) (target string, err error) {
	h := c.CommandHeader()
	if h.Time.IsZero() || h.Actor == "" || len(h.Actor) > MaxText {
		return "", fmt.Errorf("%w: %s: header needs an actor (≤%d bytes) and a time", ErrBadCommand, c.Type(), MaxText)
	}
	if s.Instance == "" && c.Type() != CmdInitInstance {
		return "", ErrNotInitialized
	}
	now := h.Time
	var detail string
	switch c := c.(type) {
	case *InitInstance:
		target, detail, err = s.applyInit(c)
	case *SubmitRegistration:
		target, detail, err = s.applySubmit(c, now, h.Actor)
	case *ApproveRegistration:
		target, detail, err = s.applyApprove(c, now, h.Actor)
	case *RejectRegistration:
		target, detail, err = s.decideRequest(c.RequestID, RequestRejected, c.Reason, now, h.Actor)
	case *CancelRegistration:
		target, detail, err = s.decideRequest(c.RequestID, RequestCancelled, c.Reason, now, h.Actor)
	case *SuspendMember:
		target, detail, err = s.setMemberStatus(c.Member, ident.MemberActive, ident.MemberSuspended, c.Reason, now)
	case *ReactivateMember:
		target, detail, err = s.setMemberStatus(c.Member, ident.MemberSuspended, ident.MemberActive, c.Reason, now)
	case *RevokeMember:
		target, detail, err = s.applyRevoke(c, now)
	case *CancelConnection:
		target, detail, err = s.applyCancelConnection(c, now)
	case *AddNode:
		target, detail, err = s.applyAddNode(c, now)
	case *SetNodeAddrs:
		target, detail, err = s.applySetNodeAddrs(c, now)
	case *PublishService:
		target, detail, err = s.applyPublish(c, now)
	case *DeprecateService:
		target, detail, err = s.applyServiceLifecycle(c.Service, ident.ServiceDeprecated, &c.Sunset, now)
	case *RetireService:
		target, detail, err = s.applyServiceLifecycle(c.Service, ident.ServiceRetired, nil, now)
	case *SetGroup:
		target, detail, err = s.applySetGroup(c, now)
	case *SetRegistryServer, *AddOperator, *RemoveOperator:
		target, detail, err = s.applyAdmin(c, now, h.Actor)
	case *CreateJoinToken, *ConsumeJoinToken:
		target, detail, err = s.applyJoin(c, now, h.Actor)
	case *SetDocuments:
		target, detail, err = s.applySetDocuments(c, now)
	case *SubmitSystem:
		target, detail, err = s.applySubmitSystem(c, now, h.Actor)
	case *SetPolicy:
		if err = validatePolicy(c.Policy); err == nil {
			s.Policy = c.Policy
			target, detail = s.Instance, "policy replaced"
		}
	default:
		return "", fmt.Errorf("%w: no handler for %s", ErrBadCommand, c.Type())
	}
	if err != nil {
		return "", err
	}
	s.Version = index
	s.appendHistory(HistoryEntry{
		Index: index, Time: now, Actor: h.Actor, Action: c.Type().String(), Target: target, Detail: detail,
	})
	return target, nil
}

func (s *State) applyInit(c *InitInstance) (string, string, error) {
	if s.Instance != "" {
		return "", "", fmt.Errorf("%w: instance %s", ErrAlreadyInitialized, s.Instance)
	}
	if err := ident.CheckPart(c.Instance); err != nil {
		return "", "", Invalidf("instance: %v", err)
	}
	if len(c.CAChain) == 0 {
		return "", "", Invalidf("CA chain is empty")
	}
	policy := DefaultPolicy()
	if c.Policy != nil {
		if err := validatePolicy(*c.Policy); err != nil {
			return "", "", err
		}
		policy = *c.Policy
	}
	names := map[string]bool{}
	for _, t := range c.TSAs {
		if t.Name == "" || names[t.Name] {
			return "", "", Invalidf("TSA names must be unique and non-empty")
		}
		names[t.Name] = true
	}
	s.Instance, s.Policy = c.Instance, policy
	s.CAChain = make([][]byte, len(c.CAChain))
	for i, der := range c.CAChain {
		s.CAChain[i] = slices.Clone(der)
	}
	s.TSAs = make([]TSA, len(c.TSAs))
	for i, t := range c.TSAs {
		s.TSAs[i] = t.Clone()
	}
	return c.Instance, fmt.Sprintf("%d CA certificates, %d TSAs", len(c.CAChain), len(c.TSAs)), nil
}

func (s *State) applySubmit(c *SubmitRegistration, now time.Time, actor string) (string, string, error) {
	m, err := ident.ParseMember(c.Member, "")
	if err != nil {
		return "", "", Invalidf("member: %v", err)
	}
	if m.Instance != s.Instance {
		return "", "", fmt.Errorf("%w: %s is not in instance %s", ErrWrongInstance, m, s.Instance)
	}
	if err := c.Registration.Validate(); err != nil {
		return "", "", err
	}
	if ident.CheckPart(c.RequestID) != nil || c.PeerID == "" || c.NodeKeySHA256 == "" || c.SignKeySHA256 == "" ||
		len(c.NodeCSR) == 0 || len(c.SignCSR) == 0 {
		return "", "", fmt.Errorf("%w: registration was not prepared by a proposer", ErrBadCommand)
	}
	if len(c.NodeAddrs) > MaxAddrs {
		return "", "", Invalidf("%d node addresses, limit %d", len(c.NodeAddrs), MaxAddrs)
	}
	if _, ok := s.Requests[c.RequestID]; ok {
		return "", "", fmt.Errorf("%w: %s", ErrDuplicateRequest, c.RequestID)
	}
	mid := m.String()
	if old, ok := s.Members[mid]; ok {
		return "", "", fmt.Errorf("%w: %s (%s)", ErrDuplicateMember, mid, old.Status)
	}
	if err := s.peerFree(c.PeerID); err != nil {
		return "", "", err
	}
	s.Requests[c.RequestID] = Request{
		ID: c.RequestID, Member: m, Registration: c.Registration.Clone(),
		NodeCSR: slices.Clone(c.NodeCSR), SignCSR: slices.Clone(c.SignCSR),
		NodeKeySHA256: c.NodeKeySHA256, SignKeySHA256: c.SignKeySHA256, PeerID: c.PeerID,
		NodeAddrs: slices.Clone(c.NodeAddrs), Status: RequestPending, SubmittedAt: now, SubmittedBy: actor,
	}
	s.Members[mid] = Member{
		ID: m, Name: c.Registration.Unit.Name, Status: ident.MemberPending, RequestID: c.RequestID,
		CreatedAt: now, UpdatedAt: now,
	}
	s.index().pendingPeers[c.PeerID] = c.RequestID
	return c.RequestID, "member " + mid + " pending, system " + c.Registration.System.Code + ", node " + c.PeerID, nil
}

// peerFree reports ErrDuplicateNode if peer is a node or is named by a
// pending request.
func (s *State) peerFree(peer string) error {
	if _, ok := s.Nodes[peer]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateNode, peer)
	}
	if id, ok := s.index().pendingPeers[peer]; ok {
		return fmt.Errorf("%w: %s is named by pending request %s", ErrDuplicateNode, peer, id)
	}
	return nil
}

func checkCertFields(name string, c Cert) error {
	if len(c.DER) == 0 || c.Serial == "" || c.KeySHA256 == "" || c.Member == "" {
		return fmt.Errorf("%w: %s was not prepared by a proposer", ErrBadCommand, name)
	}
	return nil
}

func (s *State) applyApprove(c *ApproveRegistration, now time.Time, actor string) (string, string, error) {
	r, ok := s.Requests[c.RequestID]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownRequest, c.RequestID)
	}
	if r.Status != RequestPending {
		return "", "", fmt.Errorf("%w: request %s is %s", ErrIllegalTransition, r.ID, r.Status)
	}
	if r.Kind == KindSystem {
		return s.approveSystem(r, now, actor)
	}
	mid := r.Member.String()
	m, ok := s.Members[mid]
	if !ok || m.Status != ident.MemberPending || m.RequestID != r.ID {
		return "", "", fmt.Errorf("%w: member %s is not pending on request %s", ErrIllegalTransition, mid, r.ID)
	}
	if err := checkCertFields("node certificate", c.NodeCert); err != nil {
		return "", "", err
	}
	if err := checkCertFields("signing certificate", c.SignCert); err != nil {
		return "", "", err
	}
	if c.NodeCert.KeySHA256 != r.NodeKeySHA256 || c.NodeCert.PeerID != r.PeerID {
		return "", "", fmt.Errorf("%w: node certificate key is not the key of the node CSR", ErrKeyMismatch)
	}
	if c.SignCert.KeySHA256 != r.SignKeySHA256 {
		return "", "", fmt.Errorf("%w: signing certificate key is not the key of the signing CSR", ErrKeyMismatch)
	}
	for _, cert := range []Cert{c.NodeCert, c.SignCert} {
		if cert.Member != mid {
			return "", "", fmt.Errorf("%w: certificate %s names member %s, not %s", ErrBadCertificate, cert.Serial, cert.Member, mid)
		}
		if s.serialInUse(cert.Serial) {
			return "", "", fmt.Errorf("%w: %s", ErrDuplicateSerial, cert.Serial)
		}
	}
	if c.NodeCert.Serial == c.SignCert.Serial {
		return "", "", fmt.Errorf("%w: both certificates have serial %s", ErrDuplicateSerial, c.NodeCert.Serial)
	}
	if _, ok := s.Nodes[r.PeerID]; ok {
		return "", "", fmt.Errorf("%w: %s", ErrDuplicateNode, r.PeerID)
	}
	subID := mid + "/" + r.Registration.System.Code
	if _, ok := s.Subsystems[subID]; ok {
		return "", "", fmt.Errorf("%w: subsystem %s exists", ErrIllegalTransition, subID)
	}

	decided := now
	r.Status, r.DecidedAt, r.DecidedBy = RequestApproved, &decided, actor
	s.Requests[r.ID] = r
	delete(s.index().pendingPeers, r.PeerID)
	s.noteSerial(c.NodeCert.Serial)
	s.noteSerial(c.SignCert.Serial)
	sign := c.SignCert.Clone()
	m.Status, m.SignCert, m.UpdatedAt = ident.MemberActive, &sign, now
	s.Members[mid] = m
	s.Subsystems[subID] = Subsystem{
		ID: subID, Member: mid, Code: r.Registration.System.Code, Name: r.Registration.System.Name,
		Status: ident.SubsystemActive, CreatedAt: now, UpdatedAt: now,
	}
	s.Nodes[r.PeerID] = Node{
		PeerID: r.PeerID, Member: mid, Addrs: slices.Clone(r.NodeAddrs), Cert: c.NodeCert.Clone(),
		Status: ident.NodeActive, CreatedAt: now, UpdatedAt: now,
	}
	return r.ID, fmt.Sprintf("member %s active; subsystem %s; node %s (serial %s); signing serial %s",
		mid, subID, r.PeerID, c.NodeCert.Serial, c.SignCert.Serial), nil
}

func (s *State) decideRequest(id string, to RequestStatus, reason string, now time.Time, actor string) (string, string, error) {
	r, ok := s.Requests[id]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownRequest, id)
	}
	if r.Status != RequestPending {
		return "", "", fmt.Errorf("%w: request %s is %s", ErrIllegalTransition, id, r.Status)
	}
	if to == RequestRejected && reason == "" {
		return "", "", Invalidf("a rejection needs a reason")
	}
	decided := now
	r.Status, r.Reason, r.DecidedAt, r.DecidedBy = to, reason, &decided, actor
	s.Requests[id] = r
	delete(s.index().pendingPeers, r.PeerID)
	mid := r.Member.String()
	if m, ok := s.Members[mid]; ok && m.Status == ident.MemberPending && m.RequestID == id {
		delete(s.Members, mid) // the code is free again; the request keeps the record
	}
	return id, string(to) + ": " + reason, nil
}

func (s *State) setMemberStatus(mid string, from, to ident.MemberStatus, reason string, now time.Time) (string, string, error) {
	m, ok := s.Members[mid]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownMember, mid)
	}
	if m.Status != from {
		return "", "", fmt.Errorf("%w: member %s is %s, not %s", ErrIllegalTransition, mid, m.Status, from)
	}
	if to == ident.MemberSuspended && reason == "" {
		return "", "", Invalidf("a suspension needs a reason")
	}
	m.Status, m.StatusReason, m.UpdatedAt = to, reason, now
	s.Members[mid] = m
	return mid, string(from) + " → " + string(to) + ": " + reason, nil
}

func (s *State) revoke(serial, reason, member, peer string, now time.Time) {
	if _, ok := s.Revoked[serial]; !ok {
		s.Revoked[serial] = RevokedCert{Serial: serial, Reason: reason, RevokedAt: now, Member: member, PeerID: peer}
	}
	s.noteSerial(serial)
}

func (s *State) applyRevoke(c *RevokeMember, now time.Time) (string, string, error) {
	m, ok := s.Members[c.Member]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownMember, c.Member)
	}
	if m.Status != ident.MemberActive && m.Status != ident.MemberSuspended {
		return "", "", fmt.Errorf("%w: member %s is %s", ErrIllegalTransition, c.Member, m.Status)
	}
	if c.Reason == "" {
		return "", "", Invalidf("a revocation needs a reason")
	}
	var serials []string
	if m.SignCert != nil {
		s.revoke(m.SignCert.Serial, c.Reason, c.Member, "", now)
		serials = append(serials, m.SignCert.Serial)
	}
	for _, pid := range SortedKeys(s.Nodes) {
		n := s.Nodes[pid]
		if n.Member != c.Member || n.Status != ident.NodeActive {
			continue
		}
		n.Status, n.UpdatedAt = ident.NodeRevoked, now
		s.Nodes[pid] = n
		s.revoke(n.Cert.Serial, c.Reason, c.Member, pid, now)
		serials = append(serials, n.Cert.Serial)
	}
	retired := s.retireServices(func(sv Service) bool { return s.Subsystems[sv.Subsystem].Member == c.Member }, now)
	m.Status, m.StatusReason, m.UpdatedAt = ident.MemberRevoked, firstNonEmpty(c.Note, c.Reason), now
	s.Members[c.Member] = m
	return c.Member, fmt.Sprintf("%s; revoked serials %s; %d services retired", c.Reason, strings.Join(serials, ","), retired), nil
}

// retireServices retires every live service that match selects and
// returns how many.
func (s *State) retireServices(match func(Service) bool, now time.Time) int {
	n := 0
	for id, sv := range s.Services {
		if sv.Lifecycle != ident.ServiceRetired && match(sv) {
			sv.Lifecycle, sv.UpdatedAt = ident.ServiceRetired, now
			s.Services[id] = sv
			n++
		}
	}
	return n
}

func (s *State) applyCancelConnection(c *CancelConnection, now time.Time) (string, string, error) {
	m, ok := s.Members[c.Member]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownMember, c.Member)
	}
	if m.Status != ident.MemberActive && m.Status != ident.MemberSuspended {
		return "", "", fmt.Errorf("%w: member %s is %s", ErrIllegalTransition, c.Member, m.Status)
	}
	switch {
	case c.PeerID != "" && c.Subsystem == "":
		n, ok := s.Nodes[c.PeerID]
		if !ok || n.Member != c.Member {
			return "", "", fmt.Errorf("%w: %s has no node %s", ErrUnknownNode, c.Member, c.PeerID)
		}
		if n.Status != ident.NodeActive {
			return "", "", fmt.Errorf("%w: node %s is %s", ErrIllegalTransition, c.PeerID, n.Status)
		}
		n.Status, n.UpdatedAt = ident.NodeCancelled, now
		s.Nodes[c.PeerID] = n
		s.revoke(n.Cert.Serial, "cessationOfOperation", c.Member, c.PeerID, now)
		return c.PeerID, "node cancelled, serial " + n.Cert.Serial + " revoked: " + c.Reason, nil
	case c.Subsystem != "" && c.PeerID == "":
		sub, ok := s.Subsystems[c.Subsystem]
		if !ok || sub.Member != c.Member {
			return "", "", fmt.Errorf("%w: %s", ErrUnknownSubsystem, c.Subsystem)
		}
		if sub.Status != ident.SubsystemActive {
			return "", "", fmt.Errorf("%w: subsystem %s is %s", ErrIllegalTransition, c.Subsystem, sub.Status)
		}
		sub.Status, sub.UpdatedAt = ident.SubsystemCancelled, now
		s.Subsystems[c.Subsystem] = sub
		retired := s.retireServices(func(sv Service) bool { return sv.Subsystem == c.Subsystem }, now)
		for code, g := range s.Groups {
			if i, found := slices.BinarySearch(g.Members, c.Subsystem); found {
				g.Members = slices.Delete(slices.Clone(g.Members), i, i+1)
				g.UpdatedAt = now
				s.Groups[code] = g
			}
		}
		return c.Subsystem, fmt.Sprintf("subsystem cancelled, %d services retired: %s", retired, c.Reason), nil
	}
	return "", "", Invalidf("name exactly one of a node and a subsystem")
}

func (s *State) applyAddNode(c *AddNode, now time.Time) (string, string, error) {
	m, ok := s.Members[c.Member]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownMember, c.Member)
	}
	if m.Status != ident.MemberActive {
		return "", "", fmt.Errorf("%w: member %s is %s", ErrIllegalTransition, c.Member, m.Status)
	}
	if err := checkCertFields("node certificate", c.Cert); err != nil {
		return "", "", err
	}
	if c.Cert.PeerID == "" {
		return "", "", fmt.Errorf("%w: node certificate has no peer ID", ErrBadCertificate)
	}
	if c.Cert.Member != c.Member {
		return "", "", fmt.Errorf("%w: certificate names member %s, not %s", ErrBadCertificate, c.Cert.Member, c.Member)
	}
	if len(c.Addrs) > MaxAddrs {
		return "", "", Invalidf("%d addresses, limit %d", len(c.Addrs), MaxAddrs)
	}
	if err := s.peerFree(c.Cert.PeerID); err != nil {
		return "", "", err
	}
	if s.serialInUse(c.Cert.Serial) {
		return "", "", fmt.Errorf("%w: %s", ErrDuplicateSerial, c.Cert.Serial)
	}
	s.Nodes[c.Cert.PeerID] = Node{
		PeerID: c.Cert.PeerID, Member: c.Member, Addrs: slices.Clone(c.Addrs), Cert: c.Cert.Clone(),
		Status: ident.NodeActive, CreatedAt: now, UpdatedAt: now,
	}
	s.noteSerial(c.Cert.Serial)
	return c.Cert.PeerID, "node added for " + c.Member + ", serial " + c.Cert.Serial, nil
}

func (s *State) applySetNodeAddrs(c *SetNodeAddrs, now time.Time) (string, string, error) {
	n, ok := s.Nodes[c.PeerID]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownNode, c.PeerID)
	}
	if n.Status != ident.NodeActive {
		return "", "", fmt.Errorf("%w: node %s is %s", ErrIllegalTransition, c.PeerID, n.Status)
	}
	if len(c.Addrs) > MaxAddrs {
		return "", "", Invalidf("%d addresses, limit %d", len(c.Addrs), MaxAddrs)
	}
	n.Addrs, n.UpdatedAt = slices.Clone(c.Addrs), now
	s.Nodes[c.PeerID] = n
	return c.PeerID, strings.Join(c.Addrs, " "), nil
}

func (s *State) applyPublish(c *PublishService, now time.Time) (string, string, error) {
	sub, ok := s.Subsystems[c.Subsystem]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownSubsystem, c.Subsystem)
	}
	if sub.Status != ident.SubsystemActive || s.Members[sub.Member].Status != ident.MemberActive {
		return "", "", fmt.Errorf("%w: subsystem %s (%s) of a %s member cannot publish", ErrIllegalTransition,
			c.Subsystem, sub.Status, s.Members[sub.Member].Status)
	}
	if ident.CheckPart(c.Code) != nil || (c.Version != "" && ident.CheckPart(c.Version) != nil) {
		return "", "", Invalidf("service code %q / version %q", c.Code, c.Version)
	}
	if err := checkSHA256(c.DescriptionSHA256); err != nil {
		return "", "", err
	}
	if err := c.Schemas.check(); err != nil {
		return "", "", err
	}
	class, err := s.publishClass(c, sub)
	if err != nil {
		return "", "", err
	}
	id := c.Subsystem + "/" + c.Code
	if c.Version != "" {
		id += "/" + c.Version
	}
	if sv, ok := s.Services[id]; ok {
		if sv.Lifecycle != ident.ServicePublished {
			return "", "", fmt.Errorf("%w: service %s is %s", ErrIllegalTransition, id, sv.Lifecycle)
		}
		sv.DescriptionSHA256, sv.UpdatedAt = c.DescriptionSHA256, now
		if c.Classification != "" {
			sv.Classification = class
		}
		if !c.Schemas.IsZero() {
			sv.Schemas = c.Schemas.normal()
		}
		s.Services[id] = sv
		return id, "description updated " + c.DescriptionSHA256 + ", " + string(sv.Classification.OrDefault()) + sv.Schemas.detail(), nil
	}
	s.Services[id] = Service{
		ID: id, Subsystem: c.Subsystem, Code: c.Code, Version: c.Version, Lifecycle: ident.ServicePublished,
		DescriptionSHA256: c.DescriptionSHA256, Classification: class, Schemas: c.Schemas.normal(), PublishedAt: now, UpdatedAt: now,
	}
	return id, "published " + c.DescriptionSHA256 + ", " + string(class) + c.Schemas.normal().detail(), nil
}

func (s *State) applyServiceLifecycle(id string, to ident.Lifecycle, sunset *time.Time, now time.Time) (string, string, error) {
	sv, ok := s.Services[id]
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownService, id)
	}
	switch {
	case to == ident.ServiceDeprecated && sv.Lifecycle != ident.ServicePublished,
		to == ident.ServiceRetired && sv.Lifecycle == ident.ServiceRetired:
		return "", "", fmt.Errorf("%w: service %s is %s", ErrIllegalTransition, id, sv.Lifecycle)
	}
	detail := string(sv.Lifecycle) + " → " + string(to)
	if to == ident.ServiceDeprecated {
		if !sunset.After(now) {
			return "", "", Invalidf("sunset %s is not after %s", sunset.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		t, at := *sunset, now
		sv.Sunset, sv.DeprecatedAt = &t, &at
		detail += ", sunset " + t.Format(time.RFC3339)
	}
	sv.Lifecycle, sv.UpdatedAt = to, now
	s.Services[id] = sv
	return id, detail, nil
}

func (s *State) applySetGroup(c *SetGroup, now time.Time) (string, string, error) {
	if err := ident.CheckPart(c.Code); err != nil {
		return "", "", Invalidf("group code: %v", err)
	}
	if c.Delete {
		if _, ok := s.Groups[c.Code]; !ok {
			return "", "", fmt.Errorf("%w: %s", ErrUnknownGroup, c.Code)
		}
		delete(s.Groups, c.Code)
		return c.Code, "deleted", nil
	}
	if err := checkText(c.Description, MaxText); err != nil {
		return "", "", Invalidf("description: %v", err)
	}
	members := slices.Compact(slices.Sorted(slices.Values(c.Members)))
	for _, id := range members {
		sub, ok := s.Subsystems[id]
		if !ok {
			return "", "", fmt.Errorf("%w: %s", ErrUnknownSubsystem, id)
		}
		if sub.Status != ident.SubsystemActive {
			return "", "", fmt.Errorf("%w: subsystem %s is %s", ErrIllegalTransition, id, sub.Status)
		}
	}
	if members == nil {
		members = []string{}
	}
	s.Groups[c.Code] = Group{Code: c.Code, Description: c.Description, Members: members, UpdatedAt: now}
	return c.Code, fmt.Sprintf("%d members", len(members)), nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
