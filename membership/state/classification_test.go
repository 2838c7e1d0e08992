package state_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/dxl-network/dxl/membership/internal/regtest"
	"github.com/dxl-network/dxl/membership/state"
)

// TestPublishClassification: a new service gets the default level
// explicitly; the member's registered highest classification (internal
// here) caps what it publishes, except a top_secret listing; an update
// without a level keeps the old one; the global configuration carries it.
func TestPublishClassification(t *testing.T) {
	h := regtest.NewHarness(t)
	a := h.Admit("CLS")
	sys := a.Member + "/SYS"
	op := state.Header{Actor: "op"}
	pub := func(code string, c state.Classification) error {
		return h.Do(&state.PublishService{Header: op, Subsystem: sys, Code: code, DescriptionSHA256: hashA, Classification: c}, false)
	}
	for code, c := range map[string]state.Classification{"dflt": "", "open": state.ClassPublic, "inner": state.ClassInternal, "ts": state.ClassTopSecret} {
		if err := pub(code, c); err != nil {
			t.Fatalf("publish %s at %q: %v", code, c, err)
		}
	}
	want := map[string]state.Classification{"dflt": state.ClassInternal, "open": state.ClassPublic, "inner": state.ClassInternal, "ts": state.ClassTopSecret}
	for code, c := range want {
		if got := h.St.Services[sys+"/"+code].Classification; got != c {
			t.Fatalf("%s: classification %q, want %q", code, got, c)
		}
	}
	if err := pub("sec", state.ClassSecret); !errors.Is(err, state.ErrClassificationCap) {
		t.Fatalf("secret above an internal registration: %v, want ErrClassificationCap", err)
	}
	if err := pub("bad", "confidential"); !errors.Is(err, state.ErrInvalidArgument) {
		t.Fatalf("unknown level: %v, want ErrInvalidArgument", err)
	}
	if err := pub("open", state.ClassSecret); !errors.Is(err, state.ErrClassificationCap) {
		t.Fatalf("raising a published service above the cap: %v", err)
	}
	h.Must(&state.PublishService{Header: op, Subsystem: sys, Code: "open", DescriptionSHA256: hashB})
	if got := h.St.Services[sys+"/open"].Classification; got != state.ClassPublic {
		t.Fatalf("update without a level changed it to %q", got)
	}
	h.Must(&state.PublishService{Header: op, Subsystem: sys, Code: "open", DescriptionSHA256: hashB, Classification: state.ClassInternal})
	if got := h.St.Services[sys+"/open"].Classification; got != state.ClassInternal {
		t.Fatalf("update to internal: %q", got)
	}
	doc := h.St.GlobalConfig(h.Now, nil)
	seen := 0
	for _, s := range doc.Services {
		if c, ok := want[s.Code]; ok && s.Provider == sys {
			if s.Code != "open" && s.Classification != c {
				t.Fatalf("global configuration %s: %q, want %q", s.Code, s.Classification, c)
			}
			seen++
		}
	}
	if seen != len(want) {
		t.Fatalf("global configuration lists %d of %d services", seen, len(want))
	}
}

// TestSealKeys: the global configuration lists a member's seal key (its
// signing certificate's Ed25519 key) only when its registration declares
// secret data.
func TestSealKeys(t *testing.T) {
	h := regtest.NewHarness(t)
	internal := h.Admit("INT")
	secret := regtest.NewApplicant(t, "SEC")
	sub := secret.Submit("req-SEC")
	sub.Registration.HighestClassification = state.ClassSecret
	h.Must(sub)
	h.Must(secret.Approve(t, h.CA, "req-SEC"))
	keys := map[string][]byte{}
	for _, m := range h.St.GlobalConfig(h.Now, nil).Members {
		keys[m.ID] = m.SealKey
	}
	if k := keys[internal.Member]; k != nil {
		t.Fatalf("a member registered at internal has a seal key %x", k)
	}
	if k, want := keys[secret.Member], secret.SignKey.Public().(ed25519.PublicKey); !bytes.Equal(k, want) {
		t.Fatalf("seal key %x, want the signing key %x", k, want)
	}
}
