package exchange

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/dxl-network/dxl/internal/ident"
	"github.com/dxl-network/dxl/internal/testutil"
	"github.com/dxl-network/dxl/membership/globalconf"
	"github.com/dxl-network/dxl/node/confview"
)

// TestCheckClassification: public and internal pass unsealed, top_secret
// never, and secret only between two members with seal keys, which it
// returns.
func TestCheckClassification(t *testing.T) {
	kp, _, _ := ed25519.GenerateKey(rand.Reader)
	kc, _, _ := ed25519.GenerateKey(rand.Reader)
	v, err := confview.New(&globalconf.Document{CAChain: [][]byte{testutil.RootDER(t)}, Members: []globalconf.Member{
		{ID: "VN/GOV/P", Status: ident.MemberActive, SealKey: kp}, {ID: "VN/GOV/C", Status: ident.MemberActive, SealKey: kc},
		{ID: "VN/GOV/N", Status: ident.MemberActive}}})
	if err != nil {
		t.Fatal(err)
	}
	svc := func(c ident.Classification) *globalconf.Service {
		return &globalconf.Service{Provider: "VN/GOV/P/IS", Code: "data", Classification: c}
	}
	for _, c := range []ident.Classification{"", ident.ClassPublic, ident.ClassInternal} {
		if s, err := CheckClassification(v, svc(c), "VN/GOV/C", "VN/GOV/P"); s != nil || err != nil {
			t.Fatalf("%q: %v %v", c, s, err)
		}
	}
	s, err := CheckClassification(v, svc(ident.ClassSecret), "VN/GOV/C", "VN/GOV/P")
	if err != nil || !s.Provider.Equal(kp) || !s.Consumer.Equal(kc) {
		t.Fatalf("secret: %+v %v", s, err)
	}
	for _, tc := range []struct {
		class              ident.Classification
		consumer, provider string
	}{
		{ident.ClassSecret, "VN/GOV/N", "VN/GOV/P"}, // the consumer cannot take Secret data
		{ident.ClassSecret, "VN/GOV/C", "VN/GOV/N"}, // nor the provider
		{ident.ClassTopSecret, "VN/GOV/C", "VN/GOV/P"},
		{"confidential", "VN/GOV/C", "VN/GOV/P"},
	} {
		if s, err := CheckClassification(v, svc(tc.class), tc.consumer, tc.provider); s != nil || !errors.Is(err, ErrClassificationRefused) {
			t.Errorf("%s %s→%s: %v %v, want classification_refused", tc.class, tc.consumer, tc.provider, s, err)
		}
	}
}
