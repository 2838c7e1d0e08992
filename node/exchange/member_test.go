package exchange

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
)

// testView is a configuration with one member of each status, an active
// and a cancelled subsystem of the active member, and a subsystem of each
// other member.
func testView(t *testing.T) *confview.View {
	t.Helper()
	v, err := confview.New(&globalconf.Document{CAChain: [][]byte{testRoot(t)},
		Members: []globalconf.Member{{ID: "VN/GOV/A", Status: ident.MemberActive}, {ID: "VN/GOV/S", Status: ident.MemberSuspended},
			{ID: "VN/GOV/R", Status: ident.MemberRevoked}},
		Subsystems: []globalconf.Subsystem{{ID: "VN/GOV/A/IS", Status: ident.SubsystemActive}, {ID: "VN/GOV/A/OLD", Status: ident.SubsystemCancelled},
			{ID: "VN/GOV/S/IS", Status: ident.SubsystemActive}, {ID: "VN/GOV/R/IS", Status: ident.SubsystemActive}}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// testRoot is a self-signed CA certificate (DER).
func testRoot(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCheckSubsystem(t *testing.T) {
	v := testView(t)
	for _, tc := range []struct {
		member, sub string
		want        error
		code        string
	}{
		{"VN/GOV/A", "VN/GOV/A/IS", nil, ""},
		{"VN/GOV/A", "VN/GOV/A/GHOST", ErrUnknownClient, "unknown_client"},
		{"VN/GOV/A", "VN/GOV/A/OLD", ErrUnknownClient, "unknown_client"},
		{"VN/GOV/X", "VN/GOV/X/IS", ErrUnknownClient, "unknown_client"},
		{"VN/GOV/S", "VN/GOV/S/IS", ErrMemberSuspended, "member_suspended"},
		{"VN/GOV/R", "VN/GOV/R/IS", ErrMemberRevoked, "member_revoked"},
	} {
		err := CheckSubsystem(v, tc.member, tc.sub, ErrUnknownClient)
		if !errors.Is(err, tc.want) || (err != nil && (Codes.Code(err) != tc.code || Status(err) != http.StatusForbidden)) {
			t.Errorf("%s: %v (%s %d), want %v", tc.sub, err, Codes.Code(err), Status(err), tc.want)
		}
	}
	// A provider node's refusal keeps its status at the consumer.
	for _, code := range []string{"unknown_client", "member_suspended", "member_revoked"} {
		if s := RemoteStatus(code); s != http.StatusForbidden {
			t.Errorf("remote %s: %d", code, s)
		}
	}
}
