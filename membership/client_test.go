package membership

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/client"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
	"github.com/dxl-network/dxl/membership/store/storetest"
)

// deadURL returns an https URL on which nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

func (a *apiCluster) client(t *testing.T, urls []string, token string) *client.Client {
	t.Helper()
	opts := []client.Option{client.WithRoots(a.roots), client.WithLogger(regtest.Logger())}
	if token != "" {
		opts = append(opts, client.WithOperatorToken(token))
	}
	c, err := client.New(urls, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestClientEveryEndpoint drives every Client method once against a
// 3-server registry, through a dead first URL (so every call fails over).
func TestClientEveryEndpoint(t *testing.T) {
	a := newAPICluster(t)
	ctx := storetest.Context(t, 60*time.Second)
	f1, f2 := a.followers()
	c := a.client(t, []string{deadURL(t), a.urls[f1], a.urls[f2]}, a.token)

	st, err := c.Status(ctx)
	if err != nil || st.LeaderID == "" || len(st.RegistryServers) != 3 {
		t.Fatalf("status: %+v %v", st, err)
	}

	ap, rej := regtest.NewApplicant(t, "C01"), regtest.NewApplicant(t, "C02")
	sub, err := c.Submit(ctx, submitBody(ap))
	if err != nil || sub.Status != state.RequestPending || sub.RequestID == "" {
		t.Fatalf("submit: %+v %v", sub, err)
	}
	sub2, err := c.Submit(ctx, submitBody(rej))
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := c.RegistrationStatus(ctx, sub.RequestID); err != nil || rs.Status != state.RequestPending || rs.Member != ap.Member {
		t.Fatalf("registration status: %+v %v", rs, err)
	}
	list, err := c.Registrations(ctx, state.RequestPending)
	if err != nil || len(list) != 2 {
		t.Fatalf("registrations: %+v %v", list, err)
	}
	req, err := c.Registration(ctx, sub.RequestID)
	if err != nil || req.PeerID != ap.PeerID || req.Registration.Unit.Name != "Agency C01" {
		t.Fatalf("registration: %+v %v", req, err)
	}
	if _, err := c.RegistrationCertificates(ctx, sub.RequestID); !errors.Is(err, state.ErrNotApproved) {
		t.Fatalf("certificates of a pending request: %v", err)
	}
	ar, err := c.Approve(ctx, sub.RequestID)
	if err != nil || ar.NodeSerial == "" || ar.SignSerial == "" || ar.PeerID != ap.PeerID {
		t.Fatalf("approve: %+v %v", ar, err)
	}
	// Public: a client without a token fetches what the approval issued.
	rc, err := a.client(t, []string{deadURL(t), a.urls[f1], a.urls[f2]}, "").RegistrationCertificates(ctx, sub.RequestID)
	if err != nil || rc.NodeCert != ar.NodeCert || rc.SignCert != ar.SignCert || rc.PeerID != ap.PeerID ||
		rc.Member != ap.Member || !strings.Contains(rc.CAChain, "BEGIN CERTIFICATE") {
		t.Fatalf("registration certificates: %+v %v", rc, err)
	}
	if res, err := c.Reject(ctx, sub2.RequestID, "incomplete catalogue"); err != nil || res.Index == 0 {
		t.Fatalf("reject: %+v %v", res, err)
	}
	if rs, _ := c.RegistrationStatus(ctx, sub2.RequestID); rs.Status != state.RequestRejected || rs.Reason != "incomplete catalogue" {
		t.Fatalf("rejected status: %+v", rs)
	}

	members, err := c.Members(ctx, ident.MemberActive)
	if err != nil || !slices.ContainsFunc(members, func(m state.Member) bool { return m.ID.String() == ap.Member }) {
		t.Fatalf("members: %+v %v", members, err)
	}
	md, err := c.Member(ctx, ap.Member)
	if err != nil || md.Status != ident.MemberActive || len(md.Nodes) != 1 || len(md.Subsystems) != 1 {
		t.Fatalf("member: %+v %v", md, err)
	}
	if _, err := c.Suspend(ctx, ap.Member, "audit"); err != nil {
		t.Fatalf("suspend: %v", err)
	}
	if md, _ := c.Member(ctx, ap.Member); md.Status != ident.MemberSuspended {
		t.Fatalf("after suspend: %s", md.Status)
	}
	if _, err := c.Reactivate(ctx, ap.Member, "audit passed"); err != nil {
		t.Fatalf("reactivate: %v", err)
	}
	if _, err := c.CancelConnection(ctx, client.CancelConnectionRequest{Member: ap.Member, PeerID: ap.PeerID, Reason: "node moved"}); err != nil {
		t.Fatalf("cancel connection: %v", err)
	}
	if md, _ := c.Member(ctx, ap.Member); md.Nodes[0].Status != ident.NodeCancelled {
		t.Fatalf("node still active after cancel: %+v", md.Nodes[0])
	}

	// The service catalogue and global groups, read back on the leader
	// (which has applied every committed write).
	leader := a.c.Server(a.c.LeaderIndex())
	subID := md.Subsystems[0].ID
	hash := strings.Repeat("ab", 32)
	res, err := c.PublishService(ctx, client.PublishServiceRequest{Subsystem: subID, Code: "citizen-lookup", Version: "v1", DescriptionSHA256: hash})
	svcID := subID + "/citizen-lookup/v1"
	if err != nil || res.Target != svcID || res.Index == 0 {
		t.Fatalf("publish service: %+v %v", res, err)
	}
	if sv, err := leader.Service(svcID); err != nil || sv.Lifecycle != ident.ServicePublished || sv.DescriptionSHA256 != hash {
		t.Fatalf("published service: %+v %v", sv, err)
	}
	sunset := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	if _, err := c.DeprecateService(ctx, svcID, sunset); err != nil {
		t.Fatalf("deprecate service: %v", err)
	}
	if sv, _ := leader.Service(svcID); sv.Lifecycle != ident.ServiceDeprecated || sv.Sunset == nil || !sv.Sunset.Equal(sunset) {
		t.Fatalf("deprecated service: %+v", sv)
	}
	if _, err := c.RetireService(ctx, svcID); err != nil {
		t.Fatalf("retire service: %v", err)
	}
	if sv, _ := leader.Service(svcID); sv.Lifecycle != ident.ServiceRetired {
		t.Fatalf("retired service: %+v", sv)
	}
	if res, err := c.SetGroup(ctx, "health", "health data exchange", []string{subID}); err != nil || res.Target != "health" {
		t.Fatalf("set group: %+v %v", res, err)
	}
	if g, err := leader.Group("health"); err != nil || g.Description != "health data exchange" || !slices.Equal(g.Members, []string{subID}) {
		t.Fatalf("group: %+v %v", g, err)
	}
	if _, err := c.DeleteGroup(ctx, "health"); err != nil {
		t.Fatalf("delete group: %v", err)
	}
	if _, err := leader.Group("health"); !errors.Is(err, state.ErrUnknownGroup) {
		t.Fatalf("deleted group: %v", err)
	}

	if _, err := c.Revoke(ctx, ap.Member, "keyCompromise", "lost laptop"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	hist, err := c.History(ctx, ap.Member, 50)
	if err != nil || len(hist) == 0 || hist[len(hist)-1].Action != "revoke_member" || hist[len(hist)-1].Actor != "alice" {
		t.Fatalf("history: %+v %v", hist, err)
	}

	// The signed configuration, fetched raw and verified here, names the
	// revoked serials.
	waitFor(t, 10*time.Second, "revocation in the config", func() bool {
		raw, err := c.GlobalConfig(ctx)
		if err != nil {
			return false
		}
		doc, err := globalconf.Verify(raw, a.anchor, time.Now())
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		return hasMember(doc, ap.Member, "revoked") && doc.IsRevoked(ar.NodeSerial) && doc.IsRevoked(ar.SignSerial)
	})
}

// TestClientErrors: error answers map back to the sentinels.
func TestClientErrors(t *testing.T) {
	a := newAPICluster(t)
	ctx := storetest.Context(t, 30*time.Second)
	anon := a.client(t, a.urls, "")
	wrong := a.client(t, a.urls, "00"+a.token[2:])
	op := a.client(t, a.urls, a.token)

	ap := regtest.NewApplicant(t, "E01")
	sub, err := anon.Submit(ctx, submitBody(ap))
	if err != nil {
		t.Fatal(err)
	}
	var ae *client.APIError
	for _, c := range []struct {
		name   string
		err    error
		want   error
		status int
	}{
		{"no token", func() error { _, err := anon.Approve(ctx, sub.RequestID); return err }(), state.ErrUnauthenticated, 401},
		{"wrong token", func() error { _, err := wrong.Members(ctx, ""); return err }(), state.ErrUnauthenticated, 401},
		{"unknown member", func() error { _, err := op.Member(ctx, regtest.Instance+"/GOV/NOPE"); return err }(), state.ErrUnknownMember, 404},
		{"unknown request", func() error { _, err := anon.RegistrationStatus(ctx, "nope"); return err }(), state.ErrUnknownRequest, 404},
		{"duplicate member", func() error { _, err := anon.Submit(ctx, submitBody(regtest.NewApplicant(t, "E01"))); return err }(), state.ErrDuplicateMember, 409},
		{"suspend pending", func() error { _, err := op.Suspend(ctx, ap.Member, "x"); return err }(), state.ErrIllegalTransition, 409},
		{"reject without reason", func() error { _, err := op.Reject(ctx, sub.RequestID, ""); return err }(), state.ErrInvalidArgument, 400},
		{"certificates of a pending request", func() error { _, err := anon.RegistrationCertificates(ctx, sub.RequestID); return err }(), state.ErrNotApproved, 409},
		{"certificates of an unknown request", func() error { _, err := anon.RegistrationCertificates(ctx, "nope"); return err }(), state.ErrUnknownRequest, 404},
		{"retire an unknown service", func() error { _, err := op.RetireService(ctx, "nope"); return err }(), state.ErrUnknownService, 404},
		{"delete an unknown group", func() error { _, err := op.DeleteGroup(ctx, "nope"); return err }(), state.ErrUnknownGroup, 404},
		{"publish without a token", func() error {
			_, err := anon.PublishService(ctx, client.PublishServiceRequest{Subsystem: "x", Code: "y", DescriptionSHA256: strings.Repeat("0", 64)})
			return err
		}(), state.ErrUnauthenticated, 401},
		{"group of an unknown subsystem", func() error {
			_, err := op.SetGroup(ctx, "g", "d", []string{regtest.Instance + "/GOV/NOPE/SYS"})
			return err
		}(), state.ErrUnknownSubsystem, 404},
	} {
		if !errors.Is(c.err, c.want) || !errors.As(c.err, &ae) || ae.Status != c.status {
			t.Errorf("%s: got %v, want %v (HTTP %d)", c.name, c.err, c.want, c.status)
		}
	}
	if _, err := client.New(nil); !errors.Is(err, state.ErrBadConfig) {
		t.Fatalf("no URLs: %v", err)
	}
	if _, err := client.New([]string{"ftp://x"}); !errors.Is(err, state.ErrBadConfig) {
		t.Fatalf("ftp URL: %v", err)
	}
}

// TestClientFailover: a write goes to the next server when the first is
// down, and the client stays with the one that answered; with every server
// down the error names each.
func TestClientFailover(t *testing.T) {
	a := newAPICluster(t)
	ctx := storetest.Context(t, 30*time.Second)
	dead1, dead2 := deadURL(t), deadURL(t)
	c := a.client(t, []string{dead1, a.urls[0]}, a.token)
	if _, err := c.Submit(ctx, submitBody(regtest.NewApplicant(t, "F01"))); err != nil {
		t.Fatalf("submit through a dead first server: %v", err)
	}
	if got := c.Current(); got != a.urls[0] {
		t.Fatalf("client did not stick to the live server: current=%s", got)
	}
	if _, err := c.Registrations(ctx, ""); err != nil {
		t.Fatal(err)
	}
	none := a.client(t, []string{dead1, dead2}, a.token)
	_, err := none.Status(ctx)
	if err == nil || !stringsContainAll(err.Error(), dead1, dead2) {
		t.Fatalf("all servers down: %v", err)
	}
}

func stringsContainAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
