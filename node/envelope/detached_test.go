package envelope

import (
	"errors"
	"testing"
)

func TestDetachedSignature(t *testing.T) {
	f := getFixture(t)
	signer, p := f.signers["A-ed"], f.policy()
	const prefix = "DXL-TEST-DOC-v1\x00"
	data := []byte("summary bytes")
	sig, cert, err := signer.SignDetached(prefix, data)
	if err != nil {
		t.Fatal(err)
	}
	info, err := VerifyDetached(p.Certs, nil, cert, prefix, data, sig, f.t0)
	if err != nil || info.Member != signer.info.Member {
		t.Fatalf("%v %+v", err, info)
	}
	for name, tc := range map[string]struct {
		prefix string
		data   []byte
		want   error
	}{
		"other data":      {prefix, []byte("summary bytez"), ErrSignature},
		"other prefix":    {"DXL-OTHER-DOC-v1\x00", data, ErrSignature},
		"envelope prefix": {RequestPrefix, data, ErrMalformed},
		"no NUL":          {"DXL-TEST-DOC-v1", data, ErrMalformed},
	} {
		if _, err := VerifyDetached(p.Certs, nil, cert, tc.prefix, tc.data, sig, f.t0); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := VerifyDetached(p.Certs, func(string) bool { return true }, cert, prefix, data, sig, f.t0); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
	if _, _, err := signer.SignDetached(ResponsePrefix, data); !errors.Is(err, ErrMalformed) {
		t.Errorf("signing with an envelope prefix: %v", err)
	}
}
