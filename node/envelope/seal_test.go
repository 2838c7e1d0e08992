package envelope_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strconv"
	"testing"

	"github.com/dxl-network/dxl/node/envelope"
)

func sealKeys(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

// TestSealKeysAgree: the X25519 key derived from an Ed25519 public key is
// the public half of the one derived from its private key.
func TestSealKeysAgree(t *testing.T) {
	for range 20 {
		pub, priv := sealKeys(t)
		pk, err := envelope.SealKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := envelope.OpenKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		if !pk.Equal(sk.PublicKey()) {
			t.Fatal("derived X25519 keys disagree")
		}
	}
	if _, err := envelope.SealKey(make([]byte, 31)); !errors.Is(err, envelope.ErrUnsupportedKey) {
		t.Fatalf("short key: %v", err)
	}
}

// TestSealBody: a sealed body opens only with the recipient's key, for
// the same call and direction, unaltered; the plaintext is not in it.
func TestSealBody(t *testing.T) {
	pub, priv := sealKeys(t)
	_, other := sealKeys(t)
	id, id2 := envelope.NewRequestID(), envelope.NewRequestID()
	plain := []byte(`{"citizen":"Nguyen Van A","id":"001088000001"}`)
	sealed, err := envelope.SealBody(pub, envelope.SealRequest, id, plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("Nguyen")) || len(sealed) != len(plain)+1+32+16 {
		t.Fatalf("sealed body of %d bytes shows the plaintext or has the wrong overhead", len(sealed))
	}
	got, err := envelope.OpenBody(priv, envelope.SealRequest, id, sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)/2] ^= 1
	for name, try := range map[string]func() ([]byte, error){
		"other key":       func() ([]byte, error) { return envelope.OpenBody(other, envelope.SealRequest, id, sealed) },
		"other call":      func() ([]byte, error) { return envelope.OpenBody(priv, envelope.SealRequest, id2, sealed) },
		"other direction": func() ([]byte, error) { return envelope.OpenBody(priv, envelope.SealResponse, id, sealed) },
		"altered":         func() ([]byte, error) { return envelope.OpenBody(priv, envelope.SealRequest, id, flipped) },
		"truncated":       func() ([]byte, error) { return envelope.OpenBody(priv, envelope.SealRequest, id, sealed[:40]) },
		"bad version": func() ([]byte, error) {
			return envelope.OpenBody(priv, envelope.SealRequest, id, append([]byte{9}, sealed[1:]...))
		},
	} {
		if out, err := try(); !errors.Is(err, envelope.ErrSealed) || out != nil {
			t.Errorf("%s: %q %v, want ErrSealed", name, out, err)
		}
	}
	if code := envelope.Codes.Code(envelope.ErrSealed); code != "envelope_sealed" {
		t.Fatalf("code %q", code)
	}
}

// FuzzOpenBody: any input either opens to what was sealed or fails with
// ErrSealed, never panics.
func FuzzOpenBody(f *testing.F) {
	pub, priv := sealKeys(f)
	id := envelope.NewRequestID()
	sealed, err := envelope.SealBody(pub, envelope.SealResponse, id, []byte("secret body"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte{envelope.SealVersion})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := envelope.OpenBody(priv, envelope.SealResponse, id, in)
		if err == nil && !bytes.Equal(out, []byte("secret body")) {
			t.Fatalf("opened to %q", out)
		}
		if err != nil && !errors.Is(err, envelope.ErrSealed) {
			t.Fatalf("error %v does not wrap ErrSealed", err)
		}
	})
}

// BenchmarkSealOpen: sealing a body for a member and opening it, what a
// Secret call adds per direction.
func BenchmarkSealOpen(b *testing.B) {
	pub, priv := sealKeys(b)
	id := envelope.NewRequestID()
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			body := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			for b.Loop() {
				s, err := envelope.SealBody(pub, envelope.SealRequest, id, body)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := envelope.OpenBody(priv, envelope.SealRequest, id, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSplitAnswer: a joined answer splits back into its inner envelope
// and body; a length past the end or over MaxEnvelope is ErrSealed.
func TestSplitAnswer(t *testing.T) {
	inner, body := []byte("inner envelope"), []byte(`{"id":"7"}`)
	gotInner, gotBody, err := envelope.SplitAnswer(envelope.JoinAnswer(inner, body))
	if err != nil || !bytes.Equal(gotInner, inner) || !bytes.Equal(gotBody, body) {
		t.Fatalf("split: %q %q %v", gotInner, gotBody, err)
	}
	if _, b, err := envelope.SplitAnswer(envelope.JoinAnswer(inner, nil)); err != nil || len(b) != 0 {
		t.Fatalf("empty body: %q %v", b, err)
	}
	for name, in := range map[string][]byte{
		"short":         {0, 0, 1},
		"past the end":  {0, 0, 0, 9, 'a'},
		"over envelope": {0, 1, 0, 1},
	} {
		if _, _, err := envelope.SplitAnswer(in); !errors.Is(err, envelope.ErrSealed) {
			t.Errorf("%s: %v, want ErrSealed", name, err)
		}
	}
}

// FuzzSplitAnswer: any opened answer splits into parts that join back to
// it, or fails with ErrSealed.
func FuzzSplitAnswer(f *testing.F) {
	f.Add(envelope.JoinAnswer([]byte("inner"), []byte("body")))
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		inner, body, err := envelope.SplitAnswer(in)
		if err != nil {
			if !errors.Is(err, envelope.ErrSealed) {
				t.Fatalf("error %v does not wrap ErrSealed", err)
			}
			return
		}
		if !bytes.Equal(envelope.JoinAnswer(inner, body), in) {
			t.Fatal("split parts do not join back")
		}
	})
}
