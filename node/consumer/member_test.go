package consumer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
	"github.com/dxl-network/dxl/node/exchange"
	"github.com/dxl-network/dxl/services"
)

// fixedViews always answers with one view.
type fixedViews struct{ v *confview.View }

func (f fixedViews) Latest() *confview.View                          { return f.v }
func (f fixedViews) Usable(v *confview.View) (*confview.View, error) { return v, nil }

func selfSigned(t *testing.T, cn string, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// memberView: A (this node's member) with subsystem IS, provider members
// P (active), S (suspended) and R (revoked), each with a subsystem SVC
// providing "data"; P also lists DROPPED, cancelled.
func memberView(t *testing.T) *confview.View {
	t.Helper()
	doc := &globalconf.Document{CAChain: [][]byte{selfSigned(t, "root", time.Now().Add(time.Hour)).Raw},
		Members: []globalconf.Member{{ID: "VN/GOV/A", Status: ident.MemberActive}, {ID: "VN/GOV/P", Status: ident.MemberActive},
			{ID: "VN/GOV/S", Status: ident.MemberSuspended}, {ID: "VN/GOV/R", Status: ident.MemberRevoked}},
		Subsystems: []globalconf.Subsystem{{ID: "VN/GOV/A/IS", Status: ident.SubsystemActive},
			{ID: "VN/GOV/P/DROPPED", Status: ident.SubsystemCancelled}}}
	for _, m := range []string{"P", "S", "R"} {
		doc.Subsystems = append(doc.Subsystems, globalconf.Subsystem{ID: "VN/GOV/" + m + "/SVC", Status: ident.SubsystemActive})
		doc.Services = append(doc.Services, globalconf.Service{Provider: "VN/GOV/" + m + "/SVC", Code: "data", Lifecycle: ident.ServicePublished})
	}
	doc.Services = append(doc.Services, globalconf.Service{Provider: "VN/GOV/P/DROPPED", Code: "data", Lifecycle: ident.ServicePublished})
	v, err := confview.New(doc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestUnregisteredClientRefused: an information system pinned at the node
// whose subsystem the signed configuration does not list, or lists
// cancelled, is refused (unknown_client), though its certificate is pinned
// and valid; one of a suspended or revoked member with that status.
func TestUnregisteredClientRefused(t *testing.T) {
	cert := selfSigned(t, "is", time.Now().Add(24*time.Hour))
	sum := sha256.Sum256(cert.Raw)
	for _, tc := range []struct {
		sub  string
		want error
	}{
		{"VN/GOV/A/IS", nil},
		{"VN/GOV/A/GHOST", exchange.ErrUnknownClient},
		{"VN/GOV/P/DROPPED", exchange.ErrUnknownClient},
		{"VN/GOV/S/SVC", exchange.ErrMemberSuspended},
		{"VN/GOV/R/SVC", exchange.ErrMemberRevoked},
	} {
		a := New(Config{Clients: map[string]string{hex.EncodeToString(sum[:]): tc.sub}, Now: time.Now, Views: fixedViews{memberView(t)}})
		r := httptest.NewRequest("GET", "/r1/x", nil)
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
		got, err := a.authenticate(r)
		if !errors.Is(err, tc.want) || (err == nil && got.String() != tc.sub) {
			t.Errorf("%s: %v %v, want %v", tc.sub, got, err, tc.want)
		}
	}
}

// TestProviderMemberStatus: a call to a service of a suspended or revoked
// member fails with that member's status, and one whose provider
// subsystem is not registered and active as unknown_service.
func TestProviderMemberStatus(t *testing.T) {
	a := New(Config{Now: time.Now})
	v := memberView(t)
	for _, tc := range []struct {
		service string
		want    error
		code    string
	}{
		{"VN/GOV/P/SVC/data", nil, ""},
		{"VN/GOV/S/SVC/data", exchange.ErrMemberSuspended, "member_suspended"},
		{"VN/GOV/R/SVC/data", exchange.ErrMemberRevoked, "member_revoked"},
		{"VN/GOV/S/SVC/listMethods", exchange.ErrMemberSuspended, "member_suspended"},
		{"VN/GOV/P/DROPPED/data", exchange.ErrUnknownService, "unknown_service"},
		{"VN/GOV/P/DROPPED/listMethods", exchange.ErrUnknownService, "unknown_service"},
	} {
		sid, err := services.ParseServiceID(tc.service)
		if err != nil {
			t.Fatal(err)
		}
		err = a.checkService(v, &Call{Service: sid})
		if !errors.Is(err, tc.want) || (err != nil && exchange.ReportedCode(err) != tc.code) {
			t.Errorf("%s: %v, want %v", tc.service, err, tc.want)
		}
	}
}
