package state_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/ca"
	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

// checkIndex asserts the incrementally kept index equals one built from
// scratch from the canonical encoding.
func checkIndex(h *regtest.Harness) {
	h.T.Helper()
	fresh, err := state.DecodeState(h.Encode())
	if err != nil {
		h.T.Fatal(err)
	}
	if !reflect.DeepEqual(h.St.IndexForTest(), fresh.IndexForTest()) {
		h.T.Fatalf("derived index drifted:\n have %+v\n want %+v", h.St.IndexForTest(), fresh.IndexForTest())
	}
}

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestCommandHappyPaths(t *testing.T) {
	h := regtest.NewHarness(t)
	if h.St.Instance != regtest.Instance || h.St.Policy != state.DefaultPolicy() || len(h.St.CAChain) != 1 || len(h.St.TSAs) != 1 {
		t.Fatalf("init: %+v", h.St)
	}

	// submit → pending
	a := regtest.NewApplicant(t, "H26")
	sub := a.Submit("")
	h.Must(sub)
	if sub.RequestID == "" || sub.PeerID != a.PeerID {
		t.Fatalf("prepare did not derive request ID / peer ID: %q %q", sub.RequestID, sub.PeerID)
	}
	r := h.St.Requests[sub.RequestID]
	if r.Status != state.RequestPending || r.Registration.System.Code != "SYS" || h.St.Members[a.Member].Status != ident.MemberPending {
		t.Fatalf("after submit: request %+v member %+v", r, h.St.Members[a.Member])
	}

	// approve → active member, subsystem, node
	ap := a.Approve(t, h.CA, sub.RequestID)
	h.Must(ap)
	m := h.St.Members[a.Member]
	sys := a.Member + "/SYS"
	if m.Status != ident.MemberActive || m.SignCert == nil || m.SignCert.Serial != ap.SignCert.Serial ||
		h.St.Subsystems[sys].Status != ident.SubsystemActive || h.St.Nodes[a.PeerID].Status != ident.NodeActive ||
		h.St.Requests[sub.RequestID].Status != state.RequestApproved || h.St.Requests[sub.RequestID].DecidedBy != "operator" {
		t.Fatalf("after approve: %+v / %+v / %+v", m, h.St.Subsystems[sys], h.St.Nodes[a.PeerID])
	}

	// reject and cancel free the member code again
	for _, c := range []struct {
		code string
		cmd  func(id string) state.Command
		want state.RequestStatus
	}{
		{"REJ", func(id string) state.Command {
			return &state.RejectRegistration{Header: state.Header{Actor: "operator"}, RequestID: id, Reason: "incomplete form"}
		}, state.RequestRejected},
		{"CAN", func(id string) state.Command {
			return &state.CancelRegistration{Header: state.Header{Actor: "applicant"}, RequestID: id}
		}, state.RequestCancelled},
	} {
		b := regtest.NewApplicant(t, c.code)
		h.Must(b.Submit("req-" + c.code))
		h.Must(c.cmd("req-" + c.code))
		if h.St.Requests["req-"+c.code].Status != c.want {
			t.Fatalf("%s: %+v", c.code, h.St.Requests["req-"+c.code])
		}
		if _, ok := h.St.Members[b.Member]; ok {
			t.Fatalf("%s: pending member kept after %s", c.code, c.want)
		}
		h.Must(b.Submit("req2-" + c.code)) // may apply again
	}

	// suspend / reactivate
	h.Must(&state.SuspendMember{Header: state.Header{Actor: "operator"}, Member: a.Member, Reason: "audit"})
	if h.St.Members[a.Member].Status != ident.MemberSuspended {
		t.Fatal("not suspended")
	}
	h.Must(&state.ReactivateMember{Header: state.Header{Actor: "operator"}, Member: a.Member})
	if h.St.Members[a.Member].Status != ident.MemberActive {
		t.Fatal("not reactivated")
	}

	// node addresses, second node
	h.Must(&state.SetNodeAddrs{Header: state.Header{Actor: "operator"}, PeerID: a.PeerID, Addrs: []string{"/dns4/node.h26.gov.vn/tcp/4001", "/ip4/10.0.0.2/udp/4001/quic-v1"}})
	if got := h.St.Nodes[a.PeerID].Addrs; len(got) != 2 || got[0] != "/dns4/node.h26.gov.vn/tcp/4001" {
		t.Fatalf("addrs %v", got)
	}
	second := regtest.NewApplicant(t, "H26B")
	add := &state.AddNode{Header: state.Header{Actor: "operator"}, Member: a.Member, Addrs: []string{"/ip4/10.0.0.3/tcp/4001"},
		Cert: state.Cert{DER: h.CA.Issue(t, ca.ProfileNodeAuth, a.Member, second.NodeKey.Public(), nil)}}
	h.Must(add)
	if n := h.St.Nodes[second.PeerID]; n.Status != ident.NodeActive || n.Member != a.Member {
		t.Fatalf("added node %+v", n)
	}

	// services
	h.Must(&state.PublishService{Header: state.Header{Actor: "operator"}, Subsystem: sys, Code: "births", Version: "v1", DescriptionSHA256: hashA})
	h.Must(&state.PublishService{Header: state.Header{Actor: "operator"}, Subsystem: sys, Code: "births", Version: "v1", DescriptionSHA256: hashB})
	svc := sys + "/births/v1"
	if s := h.St.Services[svc]; s.Lifecycle != ident.ServicePublished || s.DescriptionSHA256 != hashB {
		t.Fatalf("service %+v", s)
	}
	h.Must(&state.DeprecateService{Header: state.Header{Actor: "operator"}, Service: svc, Sunset: h.Now.Add(30 * 24 * time.Hour)})
	if s := h.St.Services[svc]; s.Lifecycle != ident.ServiceDeprecated || s.Sunset == nil {
		t.Fatalf("service %+v", s)
	}
	h.Must(&state.RetireService{Header: state.Header{Actor: "operator"}, Service: svc})
	if h.St.Services[svc].Lifecycle != ident.ServiceRetired {
		t.Fatal("not retired")
	}
	h.Must(&state.PublishService{Header: state.Header{Actor: "operator"}, Subsystem: sys, Code: "deaths", DescriptionSHA256: hashA})

	// groups
	o := h.Admit("OTHER")
	h.Must(&state.SetGroup{Header: state.Header{Actor: "operator"}, Code: "ministries", Description: "all ministries",
		Members: []string{o.Member + "/SYS", sys, sys}})
	if g := h.St.Groups["ministries"]; len(g.Members) != 2 || g.Members[0] > g.Members[1] {
		t.Fatalf("group not sorted/deduplicated: %v", g.Members)
	}

	// policy
	p := state.DefaultPolicy()
	p.RateLimitReadsPerMin = 50
	h.Must(&state.SetPolicy{Header: state.Header{Actor: "operator"}, Policy: p})
	if h.St.Policy.RateLimitReadsPerMin != 50 {
		t.Fatal("policy not set")
	}

	// cancel one node and one subsystem of OTHER
	h.Must(&state.CancelConnection{Header: state.Header{Actor: "applicant"}, Member: o.Member, PeerID: o.PeerID, Reason: "moving"})
	if n := h.St.Nodes[o.PeerID]; n.Status != ident.NodeCancelled {
		t.Fatalf("node %+v", n)
	}
	if rv := h.St.Revoked[h.St.Nodes[o.PeerID].Cert.Serial]; rv.Reason != "cessationOfOperation" {
		t.Fatalf("cancelled node's serial not revoked: %+v", rv)
	}
	h.Must(&state.CancelConnection{Header: state.Header{Actor: "applicant"}, Member: o.Member, Subsystem: o.Member + "/SYS"})
	if g := h.St.Groups["ministries"]; len(g.Members) != 1 || g.Members[0] != sys {
		t.Fatalf("cancelled subsystem still in group: %v", g.Members)
	}

	// revoke: every serial revoked, nodes revoked, services retired
	h.Must(&state.RevokeMember{Header: state.Header{Actor: "operator"}, Member: a.Member, Reason: "keyCompromise", Note: "key leaked"})
	m = h.St.Members[a.Member]
	if m.Status != ident.MemberRevoked {
		t.Fatal("not revoked")
	}
	for _, serial := range []string{m.SignCert.Serial, h.St.Nodes[a.PeerID].Cert.Serial, h.St.Nodes[second.PeerID].Cert.Serial} {
		if rv, ok := h.St.Revoked[serial]; !ok || rv.Reason != "keyCompromise" || rv.Member != a.Member {
			t.Fatalf("serial %s not revoked: %+v", serial, rv)
		}
	}
	if h.St.Nodes[a.PeerID].Status != ident.NodeRevoked || h.St.Services[sys+"/deaths"].Lifecycle != ident.ServiceRetired {
		t.Fatal("revocation did not reach nodes and services")
	}

	// group delete
	h.Must(&state.SetGroup{Header: state.Header{Actor: "operator"}, Code: "ministries", Delete: true})

	checkIndex(h)

	// history: one entry per command, in order, versions = indexes
	if uint64(len(h.St.History)) != h.Idx || h.St.Version != h.Idx {
		t.Fatalf("history %d entries, version %d, index %d", len(h.St.History), h.St.Version, h.Idx)
	}
	for i, e := range h.St.History {
		if e.Index != uint64(i+1) || e.Actor == "" || e.Action == "" || e.Time.IsZero() {
			t.Fatalf("history[%d] = %+v", i, e)
		}
	}
	if last := h.St.History[len(h.St.History)-1]; last.Action != "set_group" || last.Target != "ministries" {
		t.Fatalf("last history entry %+v", last)
	}
}

// TestCommandRejections: every refused command returns its sentinel and
// leaves the canonical encoding byte-for-byte unchanged.
func TestCommandRejections(t *testing.T) {
	type fixture struct {
		h                *regtest.Harness
		active, pending  *regtest.Applicant
		suspended, fresh *regtest.Applicant
		sys, svc         string
	}
	setup := func(t *testing.T) *fixture {
		h := regtest.NewHarness(t)
		f := &fixture{h: h, active: h.Admit("ACT"), suspended: h.Admit("SUS"), fresh: regtest.NewApplicant(t, "NEW")}
		f.pending = regtest.NewApplicant(t, "PEN")
		h.Must(f.pending.Submit("req-PEN"))
		h.Must(&state.SuspendMember{Header: state.Header{Actor: "op"}, Member: f.suspended.Member, Reason: "audit"})
		f.sys = f.active.Member + "/SYS"
		h.Must(&state.PublishService{Header: state.Header{Actor: "op"}, Subsystem: f.sys, Code: "svc", DescriptionSHA256: hashA})
		f.svc = f.sys + "/svc"
		return f
	}
	op := state.Header{Actor: "op"}
	cases := []struct {
		name string
		cmd  func(f *fixture) state.Command
		raw  bool // skip prepare: Apply's own checks
		want error
	}{
		{"init twice", func(f *fixture) state.Command { return f.h.CA.InitCmd() }, false, state.ErrAlreadyInitialized},
		{"no actor", func(f *fixture) state.Command { return &state.SetPolicy{Policy: state.DefaultPolicy()} }, true, state.ErrBadCommand},
		{"duplicate member code", func(f *fixture) state.Command {
			a := regtest.NewApplicant(f.h.T, "ACT")
			return a.Submit("req-other")
		}, false, state.ErrDuplicateMember},
		{"duplicate pending member code", func(f *fixture) state.Command {
			return regtest.NewApplicant(f.h.T, "PEN").Submit("req-other")
		}, false, state.ErrDuplicateMember},
		{"duplicate request ID", func(f *fixture) state.Command { return f.fresh.Submit("req-PEN") }, false, state.ErrDuplicateRequest},
		{"wrong instance", func(f *fixture) state.Command {
			c := f.fresh.Submit("req-x")
			c.Member = "VN/GOV/NEW"
			return c
		}, false, state.ErrWrongInstance},
		{"peer ID of a pending request", func(f *fixture) state.Command {
			c := f.fresh.Submit("req-x")
			c.NodeCSR = f.pending.NodeCSR
			return c
		}, false, state.ErrDuplicateNode},
		{"peer ID of an existing node", func(f *fixture) state.Command {
			c := f.fresh.Submit("req-x")
			c.NodeCSR = f.active.NodeCSR
			return c
		}, false, state.ErrDuplicateNode},
		{"top secret in apply", func(f *fixture) state.Command {
			c := f.fresh.Submit("req-x")
			if err := c.Prepare(rand.Reader); err != nil {
				f.h.T.Fatal(err)
			}
			c.Registration.HighestClassification = state.ClassTopSecret
			return c
		}, true, state.ErrClassificationRefused},
		{"unprepared submission", func(f *fixture) state.Command { return f.fresh.Submit("req-x") }, true, state.ErrBadCommand},
		{"approve unknown request", func(f *fixture) state.Command {
			return f.fresh.Approve(f.h.T, f.h.CA, "req-none")
		}, false, state.ErrUnknownRequest},
		{"approve twice", func(f *fixture) state.Command { return f.active.Approve(f.h.T, f.h.CA, "req-ACT") }, false, state.ErrIllegalTransition},
		{"approve with another key", func(f *fixture) state.Command {
			c := f.pending.Approve(f.h.T, f.h.CA, "req-PEN")
			c.NodeCert.DER = f.h.CA.Issue(f.h.T, ca.ProfileNodeAuth, f.pending.Member, f.fresh.NodeKey.Public(), nil)
			return c
		}, false, state.ErrKeyMismatch},
		{"approve with swapped keys", func(f *fixture) state.Command {
			c := f.pending.Approve(f.h.T, f.h.CA, "req-PEN")
			c.SignCert.DER = f.h.CA.Issue(f.h.T, ca.ProfileMemberSign, f.pending.Member, f.pending.NodeKey.Public(), nil)
			return c
		}, false, state.ErrKeyMismatch},
		{"approve with a certificate for another member", func(f *fixture) state.Command {
			c := f.pending.Approve(f.h.T, f.h.CA, "req-PEN")
			c.SignCert.DER = f.h.CA.Issue(f.h.T, ca.ProfileMemberSign, f.active.Member, f.pending.SignKey.Public(), nil)
			return c
		}, false, state.ErrBadCertificate},
		{"approve with a reused serial", func(f *fixture) state.Command {
			c := f.pending.Approve(f.h.T, f.h.CA, "req-PEN")
			cert, _ := regtest.ParseCertForTest(f.h.St.Members[f.active.Member].SignCert.DER)
			c.SignCert.DER = f.h.CA.Issue(f.h.T, ca.ProfileMemberSign, f.pending.Member, f.pending.SignKey.Public(), cert.SerialNumber)
			return c
		}, false, state.ErrDuplicateSerial},
		{"approve unprepared", func(f *fixture) state.Command {
			return &state.ApproveRegistration{Header: op, RequestID: "req-PEN"}
		}, true, state.ErrBadCommand},
		{"reject without reason", func(f *fixture) state.Command {
			return &state.RejectRegistration{Header: op, RequestID: "req-PEN"}
		}, true, state.ErrInvalidArgument},
		{"reject approved", func(f *fixture) state.Command {
			return &state.RejectRegistration{Header: op, RequestID: "req-ACT", Reason: "late"}
		}, false, state.ErrIllegalTransition},
		{"cancel unknown request", func(f *fixture) state.Command {
			return &state.CancelRegistration{Header: op, RequestID: "req-none"}
		}, false, state.ErrUnknownRequest},
		{"suspend unknown member", func(f *fixture) state.Command {
			return &state.SuspendMember{Header: op, Member: f.fresh.Member, Reason: "x"}
		}, false, state.ErrUnknownMember},
		{"suspend pending member", func(f *fixture) state.Command {
			return &state.SuspendMember{Header: op, Member: f.pending.Member, Reason: "x"}
		}, false, state.ErrIllegalTransition},
		{"suspend suspended member", func(f *fixture) state.Command {
			return &state.SuspendMember{Header: op, Member: f.suspended.Member, Reason: "x"}
		}, false, state.ErrIllegalTransition},
		{"reactivate active member", func(f *fixture) state.Command {
			return &state.ReactivateMember{Header: op, Member: f.active.Member}
		}, false, state.ErrIllegalTransition},
		{"revoke pending member", func(f *fixture) state.Command {
			return &state.RevokeMember{Header: op, Member: f.pending.Member, Reason: "unspecified"}
		}, false, state.ErrIllegalTransition},
		{"revoke with unknown reason", func(f *fixture) state.Command {
			return &state.RevokeMember{Header: op, Member: f.active.Member, Reason: "certificateHold"}
		}, false, state.ErrInvalidArgument},
		{"cancel another member's node", func(f *fixture) state.Command {
			return &state.CancelConnection{Header: op, Member: f.active.Member, PeerID: f.suspended.PeerID}
		}, false, state.ErrUnknownNode},
		{"cancel node and subsystem at once", func(f *fixture) state.Command {
			return &state.CancelConnection{Header: op, Member: f.active.Member, PeerID: f.active.PeerID, Subsystem: f.sys}
		}, true, state.ErrInvalidArgument},
		{"cancel unknown subsystem", func(f *fixture) state.Command {
			return &state.CancelConnection{Header: op, Member: f.active.Member, Subsystem: f.active.Member + "/NOPE"}
		}, false, state.ErrUnknownSubsystem},
		{"add node to suspended member", func(f *fixture) state.Command {
			return &state.AddNode{Header: op, Member: f.suspended.Member,
				Cert: state.Cert{DER: f.h.CA.Issue(f.h.T, ca.ProfileNodeAuth, f.suspended.Member, f.fresh.NodeKey.Public(), nil)}}
		}, false, state.ErrIllegalTransition},
		{"add existing node", func(f *fixture) state.Command {
			return &state.AddNode{Header: op, Member: f.active.Member,
				Cert: state.Cert{DER: f.h.CA.Issue(f.h.T, ca.ProfileNodeAuth, f.active.Member, f.active.NodeKey.Public(), nil)}}
		}, false, state.ErrDuplicateNode},
		{"add node with another member's certificate", func(f *fixture) state.Command {
			return &state.AddNode{Header: op, Member: f.active.Member,
				Cert: state.Cert{DER: f.h.CA.Issue(f.h.T, ca.ProfileNodeAuth, f.suspended.Member, f.fresh.NodeKey.Public(), nil)}}
		}, false, state.ErrBadCertificate},
		{"add node with a signing certificate", func(f *fixture) state.Command {
			return &state.AddNode{Header: op, Member: f.active.Member,
				Cert: state.Cert{DER: f.h.CA.Issue(f.h.T, ca.ProfileMemberSign, f.active.Member, f.fresh.NodeKey.Public(), nil)}}
		}, false, state.ErrBadCertificate},
		{"addresses of unknown node", func(f *fixture) state.Command {
			return &state.SetNodeAddrs{Header: op, PeerID: f.fresh.PeerID, Addrs: []string{"/ip4/1.2.3.4/tcp/1"}}
		}, false, state.ErrUnknownNode},
		{"bad multiaddr", func(f *fixture) state.Command {
			return &state.SetNodeAddrs{Header: op, PeerID: f.active.PeerID, Addrs: []string{"10.0.0.1:4001"}}
		}, false, state.ErrInvalidArgument},
		{"publish on unknown subsystem", func(f *fixture) state.Command {
			return &state.PublishService{Header: op, Subsystem: f.fresh.Member + "/SYS", Code: "x", DescriptionSHA256: hashA}
		}, false, state.ErrUnknownSubsystem},
		{"publish for suspended member", func(f *fixture) state.Command {
			return &state.PublishService{Header: op, Subsystem: f.suspended.Member + "/SYS", Code: "x", DescriptionSHA256: hashA}
		}, false, state.ErrIllegalTransition},
		{"publish with a bad hash", func(f *fixture) state.Command {
			return &state.PublishService{Header: op, Subsystem: f.sys, Code: "x", DescriptionSHA256: "ABC"}
		}, false, state.ErrInvalidArgument},
		{"deprecate with past sunset", func(f *fixture) state.Command {
			return &state.DeprecateService{Header: op, Service: f.svc, Sunset: regtest.T0}
		}, false, state.ErrInvalidArgument},
		{"deprecate unknown service", func(f *fixture) state.Command {
			return &state.DeprecateService{Header: op, Service: f.sys + "/nope", Sunset: regtest.T0.Add(1000 * time.Hour)}
		}, false, state.ErrUnknownService},
		{"group with unknown subsystem", func(f *fixture) state.Command {
			return &state.SetGroup{Header: op, Code: "g", Description: "d", Members: []string{f.fresh.Member + "/SYS"}}
		}, false, state.ErrUnknownSubsystem},
		{"delete unknown group", func(f *fixture) state.Command { return &state.SetGroup{Header: op, Code: "g", Delete: true} }, false, state.ErrUnknownGroup},
		{"bad policy", func(f *fixture) state.Command {
			p := state.DefaultPolicy()
			p.ConfigValidity = state.Duration(time.Minute)
			return &state.SetPolicy{Header: op, Policy: p}
		}, true, state.ErrInvalidArgument},
		{"max config age below validity", func(f *fixture) state.Command {
			p := state.DefaultPolicy()
			p.MaxConfigAge = p.ConfigValidity - state.Duration(time.Hour)
			return &state.SetPolicy{Header: op, Policy: p}
		}, true, state.ErrInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := setup(t)
			cmd := c.cmd(f)
			before, version, hist := f.h.Encode(), f.h.St.Version, len(f.h.St.History)
			err := f.h.Do(cmd, c.raw)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if after := f.h.Encode(); !bytes.Equal(before, after) || f.h.St.Version != version || len(f.h.St.History) != hist {
				t.Fatal("a refused command changed the state")
			}
			checkIndex(f.h)
		})
	}

	t.Run("before init", func(t *testing.T) {
		st := state.NewState()
		before, _ := st.Encode()
		a := regtest.NewApplicant(t, "X")
		cmd := a.Submit("r")
		cmd.Time = regtest.T0
		if err := cmd.Prepare(rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Apply(1, cmd); !errors.Is(err, state.ErrNotInitialized) {
			t.Fatalf("got %v", err)
		}
		if after, _ := st.Encode(); !bytes.Equal(before, after) {
			t.Fatal("state changed")
		}
	})
}

func TestRetiredServiceStaysRetired(t *testing.T) {
	h := regtest.NewHarness(t)
	a := h.Admit("A")
	sys := a.Member + "/SYS"
	h.Must(&state.PublishService{Header: state.Header{Actor: "op"}, Subsystem: sys, Code: "s", DescriptionSHA256: hashA})
	h.Must(&state.RetireService{Header: state.Header{Actor: "op"}, Service: sys + "/s"})
	for _, cmd := range []state.Command{
		&state.RetireService{Header: state.Header{Actor: "op"}, Service: sys + "/s"},
		&state.PublishService{Header: state.Header{Actor: "op"}, Subsystem: sys, Code: "s", DescriptionSHA256: hashB},
		&state.DeprecateService{Header: state.Header{Actor: "op"}, Service: sys + "/s", Sunset: h.Now.Add(time.Hour * 100)},
	} {
		if err := h.Do(cmd, false); !errors.Is(err, state.ErrIllegalTransition) {
			t.Fatalf("%s on a retired service: %v", cmd.Type(), err)
		}
	}
	if !strings.HasSuffix(h.St.History[len(h.St.History)-1].Detail, "retired") {
		t.Fatalf("history %+v", h.St.History[len(h.St.History)-1])
	}
}
