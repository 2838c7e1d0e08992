package membership

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
)

// harness applies commands to a State the way a server would (stamp,
// prepare, apply at the next index), without Raft.
type harness struct {
	t   *testing.T
	st  *State
	idx uint64
	now time.Time
	ca  *testCA
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, st: NewState(), now: testT0, ca: newTestCA(t)}
	h.must(h.ca.initCmd())
	return h
}

// do prepares and applies cmd; raw skips prepare (a command that did not
// come through a proposer).
func (h *harness) do(cmd Command, raw bool) error {
	h.now = h.now.Add(time.Minute)
	if hd := cmd.header(); hd.Time.IsZero() {
		hd.Time = h.now
	}
	if !raw {
		if err := cmd.prepare(rand.Reader); err != nil {
			return err
		}
	}
	// Through the log encoding, as every replica sees it.
	b, err := EncodeCommand(cmd)
	if err != nil {
		return err
	}
	dec, err := DecodeCommand(b)
	if err != nil {
		return err
	}
	h.idx++
	_, err = h.st.apply(h.idx, dec)
	return err
}

func (h *harness) must(cmd Command) {
	h.t.Helper()
	if err := h.do(cmd, false); err != nil {
		h.t.Fatalf("%s: %v", cmd.Type(), err)
	}
}

func (h *harness) admit(code string) *applicant {
	h.t.Helper()
	a := newApplicant(h.t, code)
	h.must(a.submit("req-" + code))
	h.must(a.approve(h.t, h.ca, "req-"+code))
	return a
}

// checkIndex asserts the incrementally kept index equals one built from
// scratch from the canonical encoding.
func (h *harness) checkIndex() {
	h.t.Helper()
	fresh, err := DecodeState(h.encode())
	if err != nil {
		h.t.Fatal(err)
	}
	if !reflect.DeepEqual(h.st.index(), fresh.index()) {
		h.t.Fatalf("derived index drifted:\n have %+v\n want %+v", h.st.index(), fresh.index())
	}
}

func (h *harness) encode() []byte {
	h.t.Helper()
	b, err := h.st.Encode()
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestCommandHappyPaths(t *testing.T) {
	h := newHarness(t)
	if h.st.Instance != testInstance || h.st.Policy != DefaultPolicy() || len(h.st.CAChain) != 1 || len(h.st.TSAs) != 1 {
		t.Fatalf("init: %+v", h.st)
	}

	// submit → pending
	a := newApplicant(t, "H26")
	sub := a.submit("")
	h.must(sub)
	if sub.RequestID == "" || sub.PeerID != a.peerID {
		t.Fatalf("prepare did not derive request ID / peer ID: %q %q", sub.RequestID, sub.PeerID)
	}
	r := h.st.Requests[sub.RequestID]
	if r.Status != RequestPending || r.Registration.System.Code != "SYS" || h.st.Members[a.member].Status != MemberPending {
		t.Fatalf("after submit: request %+v member %+v", r, h.st.Members[a.member])
	}

	// approve → active member, subsystem, node
	ap := a.approve(t, h.ca, sub.RequestID)
	h.must(ap)
	m := h.st.Members[a.member]
	sys := a.member + "/SYS"
	if m.Status != MemberActive || m.SignCert == nil || m.SignCert.Serial != ap.SignCert.Serial ||
		h.st.Subsystems[sys].Status != SubsystemActive || h.st.Nodes[a.peerID].Status != NodeActive ||
		h.st.Requests[sub.RequestID].Status != RequestApproved || h.st.Requests[sub.RequestID].DecidedBy != "operator" {
		t.Fatalf("after approve: %+v / %+v / %+v", m, h.st.Subsystems[sys], h.st.Nodes[a.peerID])
	}

	// reject and cancel free the member code again
	for _, c := range []struct {
		code string
		cmd  func(id string) Command
		want RequestStatus
	}{
		{"REJ", func(id string) Command {
			return &RejectRegistration{Header: Header{Actor: "operator"}, RequestID: id, Reason: "incomplete form"}
		}, RequestRejected},
		{"CAN", func(id string) Command { return &CancelRegistration{Header: Header{Actor: "applicant"}, RequestID: id} }, RequestCancelled},
	} {
		b := newApplicant(t, c.code)
		h.must(b.submit("req-" + c.code))
		h.must(c.cmd("req-" + c.code))
		if h.st.Requests["req-"+c.code].Status != c.want {
			t.Fatalf("%s: %+v", c.code, h.st.Requests["req-"+c.code])
		}
		if _, ok := h.st.Members[b.member]; ok {
			t.Fatalf("%s: pending member kept after %s", c.code, c.want)
		}
		h.must(b.submit("req2-" + c.code)) // may apply again
	}

	// suspend / reactivate
	h.must(&SuspendMember{Header: Header{Actor: "operator"}, Member: a.member, Reason: "audit"})
	if h.st.Members[a.member].Status != MemberSuspended {
		t.Fatal("not suspended")
	}
	h.must(&ReactivateMember{Header: Header{Actor: "operator"}, Member: a.member})
	if h.st.Members[a.member].Status != MemberActive {
		t.Fatal("not reactivated")
	}

	// node addresses, second node
	h.must(&SetNodeAddrs{Header: Header{Actor: "operator"}, PeerID: a.peerID, Addrs: []string{"/dns4/node.h26.gov.vn/tcp/4001", "/ip4/10.0.0.2/udp/4001/quic-v1"}})
	if got := h.st.Nodes[a.peerID].Addrs; len(got) != 2 || got[0] != "/dns4/node.h26.gov.vn/tcp/4001" {
		t.Fatalf("addrs %v", got)
	}
	second := newApplicant(t, "H26B")
	add := &AddNode{Header: Header{Actor: "operator"}, Member: a.member, Addrs: []string{"/ip4/10.0.0.3/tcp/4001"},
		Cert: Cert{DER: h.ca.issue(t, ca.ProfileNodeAuth, a.member, second.nodeKey.Public(), nil)}}
	h.must(add)
	if n := h.st.Nodes[second.peerID]; n.Status != NodeActive || n.Member != a.member {
		t.Fatalf("added node %+v", n)
	}

	// services
	h.must(&PublishService{Header: Header{Actor: "operator"}, Subsystem: sys, Code: "births", Version: "v1", DescriptionSHA256: hashA})
	h.must(&PublishService{Header: Header{Actor: "operator"}, Subsystem: sys, Code: "births", Version: "v1", DescriptionSHA256: hashB})
	svc := sys + "/births/v1"
	if s := h.st.Services[svc]; s.Lifecycle != ServicePublished || s.DescriptionSHA256 != hashB {
		t.Fatalf("service %+v", s)
	}
	h.must(&DeprecateService{Header: Header{Actor: "operator"}, Service: svc, Sunset: h.now.Add(30 * 24 * time.Hour)})
	if s := h.st.Services[svc]; s.Lifecycle != ServiceDeprecated || s.Sunset == nil {
		t.Fatalf("service %+v", s)
	}
	h.must(&RetireService{Header: Header{Actor: "operator"}, Service: svc})
	if h.st.Services[svc].Lifecycle != ServiceRetired {
		t.Fatal("not retired")
	}
	h.must(&PublishService{Header: Header{Actor: "operator"}, Subsystem: sys, Code: "deaths", DescriptionSHA256: hashA})

	// groups
	o := h.admit("OTHER")
	h.must(&SetGroup{Header: Header{Actor: "operator"}, Code: "ministries", Description: "all ministries",
		Members: []string{o.member + "/SYS", sys, sys}})
	if g := h.st.Groups["ministries"]; len(g.Members) != 2 || g.Members[0] > g.Members[1] {
		t.Fatalf("group not sorted/deduplicated: %v", g.Members)
	}

	// policy
	p := DefaultPolicy()
	p.RateLimitReadsPerMin = 50
	h.must(&SetPolicy{Header: Header{Actor: "operator"}, Policy: p})
	if h.st.Policy.RateLimitReadsPerMin != 50 {
		t.Fatal("policy not set")
	}

	// cancel one node and one subsystem of OTHER
	h.must(&CancelConnection{Header: Header{Actor: "applicant"}, Member: o.member, PeerID: o.peerID, Reason: "moving"})
	if n := h.st.Nodes[o.peerID]; n.Status != NodeCancelled {
		t.Fatalf("node %+v", n)
	}
	if rv := h.st.Revoked[h.st.Nodes[o.peerID].Cert.Serial]; rv.Reason != "cessationOfOperation" {
		t.Fatalf("cancelled node's serial not revoked: %+v", rv)
	}
	h.must(&CancelConnection{Header: Header{Actor: "applicant"}, Member: o.member, Subsystem: o.member + "/SYS"})
	if g := h.st.Groups["ministries"]; len(g.Members) != 1 || g.Members[0] != sys {
		t.Fatalf("cancelled subsystem still in group: %v", g.Members)
	}

	// revoke: every serial revoked, nodes revoked, services retired
	h.must(&RevokeMember{Header: Header{Actor: "operator"}, Member: a.member, Reason: "keyCompromise", Note: "key leaked"})
	m = h.st.Members[a.member]
	if m.Status != MemberRevoked {
		t.Fatal("not revoked")
	}
	for _, serial := range []string{m.SignCert.Serial, h.st.Nodes[a.peerID].Cert.Serial, h.st.Nodes[second.peerID].Cert.Serial} {
		if rv, ok := h.st.Revoked[serial]; !ok || rv.Reason != "keyCompromise" || rv.Member != a.member {
			t.Fatalf("serial %s not revoked: %+v", serial, rv)
		}
	}
	if h.st.Nodes[a.peerID].Status != NodeRevoked || h.st.Services[sys+"/deaths"].Lifecycle != ServiceRetired {
		t.Fatal("revocation did not reach nodes and services")
	}

	// group delete
	h.must(&SetGroup{Header: Header{Actor: "operator"}, Code: "ministries", Delete: true})

	h.checkIndex()

	// history: one entry per command, in order, versions = indexes
	if uint64(len(h.st.History)) != h.idx || h.st.Version != h.idx {
		t.Fatalf("history %d entries, version %d, index %d", len(h.st.History), h.st.Version, h.idx)
	}
	for i, e := range h.st.History {
		if e.Index != uint64(i+1) || e.Actor == "" || e.Action == "" || e.Time.IsZero() {
			t.Fatalf("history[%d] = %+v", i, e)
		}
	}
	if last := h.st.History[len(h.st.History)-1]; last.Action != "set_group" || last.Target != "ministries" {
		t.Fatalf("last history entry %+v", last)
	}
}

// TestCommandRejections: every refused command returns its sentinel and
// leaves the canonical encoding byte-for-byte unchanged.
func TestCommandRejections(t *testing.T) {
	type fixture struct {
		h                *harness
		active, pending  *applicant
		suspended, fresh *applicant
		sys, svc         string
	}
	setup := func(t *testing.T) *fixture {
		h := newHarness(t)
		f := &fixture{h: h, active: h.admit("ACT"), suspended: h.admit("SUS"), fresh: newApplicant(t, "NEW")}
		f.pending = newApplicant(t, "PEN")
		h.must(f.pending.submit("req-PEN"))
		h.must(&SuspendMember{Header: Header{Actor: "op"}, Member: f.suspended.member, Reason: "audit"})
		f.sys = f.active.member + "/SYS"
		h.must(&PublishService{Header: Header{Actor: "op"}, Subsystem: f.sys, Code: "svc", DescriptionSHA256: hashA})
		f.svc = f.sys + "/svc"
		return f
	}
	op := Header{Actor: "op"}
	cases := []struct {
		name string
		cmd  func(f *fixture) Command
		raw  bool // skip prepare: Apply's own checks
		want error
	}{
		{"init twice", func(f *fixture) Command { return f.h.ca.initCmd() }, false, ErrAlreadyInitialized},
		{"no actor", func(f *fixture) Command { return &SetPolicy{Policy: DefaultPolicy()} }, true, ErrBadCommand},
		{"duplicate member code", func(f *fixture) Command {
			a := newApplicant(f.h.t, "ACT")
			return a.submit("req-other")
		}, false, ErrDuplicateMember},
		{"duplicate pending member code", func(f *fixture) Command {
			return newApplicant(f.h.t, "PEN").submit("req-other")
		}, false, ErrDuplicateMember},
		{"duplicate request ID", func(f *fixture) Command { return f.fresh.submit("req-PEN") }, false, ErrDuplicateRequest},
		{"wrong instance", func(f *fixture) Command {
			c := f.fresh.submit("req-x")
			c.Member = "VN/GOV/NEW"
			return c
		}, false, ErrWrongInstance},
		{"peer ID of a pending request", func(f *fixture) Command {
			c := f.fresh.submit("req-x")
			c.NodeCSR = f.pending.nodeCSR
			return c
		}, false, ErrDuplicateNode},
		{"peer ID of an existing node", func(f *fixture) Command {
			c := f.fresh.submit("req-x")
			c.NodeCSR = f.active.nodeCSR
			return c
		}, false, ErrDuplicateNode},
		{"top secret in apply", func(f *fixture) Command {
			c := f.fresh.submit("req-x")
			if err := c.prepare(rand.Reader); err != nil {
				f.h.t.Fatal(err)
			}
			c.Registration.HighestClassification = ClassTopSecret
			return c
		}, true, ErrClassificationRefused},
		{"unprepared submission", func(f *fixture) Command { return f.fresh.submit("req-x") }, true, ErrBadCommand},
		{"approve unknown request", func(f *fixture) Command {
			return f.fresh.approve(f.h.t, f.h.ca, "req-none")
		}, false, ErrUnknownRequest},
		{"approve twice", func(f *fixture) Command { return f.active.approve(f.h.t, f.h.ca, "req-ACT") }, false, ErrIllegalTransition},
		{"approve with another key", func(f *fixture) Command {
			c := f.pending.approve(f.h.t, f.h.ca, "req-PEN")
			c.NodeCert.DER = f.h.ca.issue(f.h.t, ca.ProfileNodeAuth, f.pending.member, f.fresh.nodeKey.Public(), nil)
			return c
		}, false, ErrKeyMismatch},
		{"approve with swapped keys", func(f *fixture) Command {
			c := f.pending.approve(f.h.t, f.h.ca, "req-PEN")
			c.SignCert.DER = f.h.ca.issue(f.h.t, ca.ProfileMemberSign, f.pending.member, f.pending.nodeKey.Public(), nil)
			return c
		}, false, ErrKeyMismatch},
		{"approve with a certificate for another member", func(f *fixture) Command {
			c := f.pending.approve(f.h.t, f.h.ca, "req-PEN")
			c.SignCert.DER = f.h.ca.issue(f.h.t, ca.ProfileMemberSign, f.active.member, f.pending.signKey.Public(), nil)
			return c
		}, false, ErrBadCertificate},
		{"approve with a reused serial", func(f *fixture) Command {
			c := f.pending.approve(f.h.t, f.h.ca, "req-PEN")
			cert, _ := parseCertForTest(f.h.st.Members[f.active.member].SignCert.DER)
			c.SignCert.DER = f.h.ca.issue(f.h.t, ca.ProfileMemberSign, f.pending.member, f.pending.signKey.Public(), cert.SerialNumber)
			return c
		}, false, ErrDuplicateSerial},
		{"approve unprepared", func(f *fixture) Command {
			return &ApproveRegistration{Header: op, RequestID: "req-PEN"}
		}, true, ErrBadCommand},
		{"reject without reason", func(f *fixture) Command {
			return &RejectRegistration{Header: op, RequestID: "req-PEN"}
		}, true, ErrInvalidArgument},
		{"reject approved", func(f *fixture) Command {
			return &RejectRegistration{Header: op, RequestID: "req-ACT", Reason: "late"}
		}, false, ErrIllegalTransition},
		{"cancel unknown request", func(f *fixture) Command {
			return &CancelRegistration{Header: op, RequestID: "req-none"}
		}, false, ErrUnknownRequest},
		{"suspend unknown member", func(f *fixture) Command {
			return &SuspendMember{Header: op, Member: f.fresh.member, Reason: "x"}
		}, false, ErrUnknownMember},
		{"suspend pending member", func(f *fixture) Command {
			return &SuspendMember{Header: op, Member: f.pending.member, Reason: "x"}
		}, false, ErrIllegalTransition},
		{"suspend suspended member", func(f *fixture) Command {
			return &SuspendMember{Header: op, Member: f.suspended.member, Reason: "x"}
		}, false, ErrIllegalTransition},
		{"reactivate active member", func(f *fixture) Command {
			return &ReactivateMember{Header: op, Member: f.active.member}
		}, false, ErrIllegalTransition},
		{"revoke pending member", func(f *fixture) Command {
			return &RevokeMember{Header: op, Member: f.pending.member, Reason: "unspecified"}
		}, false, ErrIllegalTransition},
		{"revoke with unknown reason", func(f *fixture) Command {
			return &RevokeMember{Header: op, Member: f.active.member, Reason: "certificateHold"}
		}, false, ErrInvalidArgument},
		{"cancel another member's node", func(f *fixture) Command {
			return &CancelConnection{Header: op, Member: f.active.member, PeerID: f.suspended.peerID}
		}, false, ErrUnknownNode},
		{"cancel node and subsystem at once", func(f *fixture) Command {
			return &CancelConnection{Header: op, Member: f.active.member, PeerID: f.active.peerID, Subsystem: f.sys}
		}, true, ErrInvalidArgument},
		{"cancel unknown subsystem", func(f *fixture) Command {
			return &CancelConnection{Header: op, Member: f.active.member, Subsystem: f.active.member + "/NOPE"}
		}, false, ErrUnknownSubsystem},
		{"add node to suspended member", func(f *fixture) Command {
			return &AddNode{Header: op, Member: f.suspended.member,
				Cert: Cert{DER: f.h.ca.issue(f.h.t, ca.ProfileNodeAuth, f.suspended.member, f.fresh.nodeKey.Public(), nil)}}
		}, false, ErrIllegalTransition},
		{"add existing node", func(f *fixture) Command {
			return &AddNode{Header: op, Member: f.active.member,
				Cert: Cert{DER: f.h.ca.issue(f.h.t, ca.ProfileNodeAuth, f.active.member, f.active.nodeKey.Public(), nil)}}
		}, false, ErrDuplicateNode},
		{"add node with another member's certificate", func(f *fixture) Command {
			return &AddNode{Header: op, Member: f.active.member,
				Cert: Cert{DER: f.h.ca.issue(f.h.t, ca.ProfileNodeAuth, f.suspended.member, f.fresh.nodeKey.Public(), nil)}}
		}, false, ErrBadCertificate},
		{"add node with a signing certificate", func(f *fixture) Command {
			return &AddNode{Header: op, Member: f.active.member,
				Cert: Cert{DER: f.h.ca.issue(f.h.t, ca.ProfileMemberSign, f.active.member, f.fresh.nodeKey.Public(), nil)}}
		}, false, ErrBadCertificate},
		{"addresses of unknown node", func(f *fixture) Command {
			return &SetNodeAddrs{Header: op, PeerID: f.fresh.peerID, Addrs: []string{"/ip4/1.2.3.4/tcp/1"}}
		}, false, ErrUnknownNode},
		{"bad multiaddr", func(f *fixture) Command {
			return &SetNodeAddrs{Header: op, PeerID: f.active.peerID, Addrs: []string{"10.0.0.1:4001"}}
		}, false, ErrInvalidArgument},
		{"publish on unknown subsystem", func(f *fixture) Command {
			return &PublishService{Header: op, Subsystem: f.fresh.member + "/SYS", Code: "x", DescriptionSHA256: hashA}
		}, false, ErrUnknownSubsystem},
		{"publish for suspended member", func(f *fixture) Command {
			return &PublishService{Header: op, Subsystem: f.suspended.member + "/SYS", Code: "x", DescriptionSHA256: hashA}
		}, false, ErrIllegalTransition},
		{"publish with a bad hash", func(f *fixture) Command {
			return &PublishService{Header: op, Subsystem: f.sys, Code: "x", DescriptionSHA256: "ABC"}
		}, false, ErrInvalidArgument},
		{"deprecate with past sunset", func(f *fixture) Command {
			return &DeprecateService{Header: op, Service: f.svc, Sunset: testT0}
		}, false, ErrInvalidArgument},
		{"deprecate unknown service", func(f *fixture) Command {
			return &DeprecateService{Header: op, Service: f.sys + "/nope", Sunset: testT0.Add(1000 * time.Hour)}
		}, false, ErrUnknownService},
		{"group with unknown subsystem", func(f *fixture) Command {
			return &SetGroup{Header: op, Code: "g", Description: "d", Members: []string{f.fresh.member + "/SYS"}}
		}, false, ErrUnknownSubsystem},
		{"delete unknown group", func(f *fixture) Command { return &SetGroup{Header: op, Code: "g", Delete: true} }, false, ErrUnknownGroup},
		{"bad policy", func(f *fixture) Command {
			p := DefaultPolicy()
			p.ConfigValidity = Duration(time.Minute)
			return &SetPolicy{Header: op, Policy: p}
		}, true, ErrInvalidArgument},
		{"max config age below validity", func(f *fixture) Command {
			p := DefaultPolicy()
			p.MaxConfigAge = p.ConfigValidity - Duration(time.Hour)
			return &SetPolicy{Header: op, Policy: p}
		}, true, ErrInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t)
			cmd := c.cmd(f)
			before, version, hist := f.h.encode(), f.h.st.Version, len(f.h.st.History)
			err := f.h.do(cmd, c.raw)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if after := f.h.encode(); !bytes.Equal(before, after) || f.h.st.Version != version || len(f.h.st.History) != hist {
				t.Fatal("a refused command changed the state")
			}
			f.h.checkIndex()
		})
	}

	t.Run("before init", func(t *testing.T) {
		st := NewState()
		before, _ := st.Encode()
		a := newApplicant(t, "X")
		cmd := a.submit("r")
		cmd.Time = testT0
		if err := cmd.prepare(rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, err := st.apply(1, cmd); !errors.Is(err, ErrNotInitialized) {
			t.Fatalf("got %v", err)
		}
		if after, _ := st.Encode(); !bytes.Equal(before, after) {
			t.Fatal("state changed")
		}
	})
}

func TestRetiredServiceStaysRetired(t *testing.T) {
	h := newHarness(t)
	a := h.admit("A")
	sys := a.member + "/SYS"
	h.must(&PublishService{Header: Header{Actor: "op"}, Subsystem: sys, Code: "s", DescriptionSHA256: hashA})
	h.must(&RetireService{Header: Header{Actor: "op"}, Service: sys + "/s"})
	for _, cmd := range []Command{
		&RetireService{Header: Header{Actor: "op"}, Service: sys + "/s"},
		&PublishService{Header: Header{Actor: "op"}, Subsystem: sys, Code: "s", DescriptionSHA256: hashB},
		&DeprecateService{Header: Header{Actor: "op"}, Service: sys + "/s", Sunset: h.now.Add(time.Hour * 100)},
	} {
		if err := h.do(cmd, false); !errors.Is(err, ErrIllegalTransition) {
			t.Fatalf("%s on a retired service: %v", cmd.Type(), err)
		}
	}
	if !strings.HasSuffix(h.st.History[len(h.st.History)-1].Detail, "retired") {
		t.Fatalf("history %+v", h.st.History[len(h.st.History)-1])
	}
}
