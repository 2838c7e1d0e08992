package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestConfigValidate(t *testing.T) {
	key := testKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ok := Config{NodeID: testNode, Key: key, Store: NewMemStore()}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no node":       func(c *Config) { c.NodeID = "" },
		"no key":        func(c *Config) { c.Key = nil },
		"P-384 key":     func(c *Config) { c.Key = p384 },
		"no store":      func(c *Config) { c.Store = nil },
		"lifetime 10s":  func(c *Config) { c.TokenLifetime = 10 * time.Second },
		"lifetime 48h":  func(c *Config) { c.TokenLifetime = 48 * time.Hour },
		"leeway 1h":     func(c *Config) { c.Leeway = time.Hour },
		"body 1 byte":   func(c *Config) { c.MaxBodyBytes = 1 },
		"negative body": func(c *Config) { c.MaxBodyBytes = -1 },
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err = %v, want ErrConfig", name, err)
		}
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: New err = %v, want ErrConfig", name, err)
		}
	}
}

func TestCreateAndStoreHasNoSecret(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		cred, err := f.a.Create(ctx, testSubsystem)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cred.KeyID, KeyPrefix) || !strings.HasPrefix(cred.Secret, SecretPrefix) {
			t.Fatalf("bad prefixes: %q", cred.KeyID)
		}
		if len(cred.Secret) != len(SecretPrefix)+52 || len(cred.KeyID) != len(KeyPrefix)+26 {
			t.Fatalf("bad lengths: key %d secret %d", len(cred.KeyID), len(cred.Secret))
		}
		rec, err := s.Get(ctx, cred.KeyID)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256([]byte(cred.Secret))
		if !bytes.Equal(rec.SecretHash, digest[:]) {
			t.Fatal("stored hash is not SHA-256 of the secret")
		}
		raw, _ := json.Marshal(rec)
		body := strings.TrimPrefix(cred.Secret, SecretPrefix)
		for _, needle := range []string{cred.Secret, body, body[:16], strings.ToUpper(body[:16])} {
			if bytes.Contains(bytes.ToLower(raw), bytes.ToLower([]byte(needle))) {
				t.Fatalf("stored record contains the secret (%q)", needle)
			}
		}
		if bs, ok := s.(*BoltStore); ok { // and the raw database bytes
			_ = bs.db.View(func(tx *bolt.Tx) error {
				return tx.Bucket(boltBucket).ForEach(func(_, v []byte) error {
					if bytes.Contains(v, []byte(body[:16])) {
						t.Fatal("bolt value contains the secret")
					}
					return nil
				})
			})
		}
		list, err := f.a.List(ctx)
		if err != nil || len(list) != 1 || list[0].Subsystem != testSubsystem {
			t.Fatalf("List = %v, %v", list, err)
		}
	})
}

func TestCreateBadSubsystem(t *testing.T) {
	f := newFixture(t, nil)
	for _, s := range []string{"", "A/B/C", "A/B/C/D/E", "A/B//D", "A/B/C/d e", "A/B/C/" + strings.Repeat("x", 65)} {
		if _, err := f.a.Create(context.Background(), s); !errors.Is(err, ErrSubsystem) {
			t.Errorf("Create(%q) err = %v, want ErrSubsystem", s, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		cred, _ := f.a.Create(ctx, testSubsystem)
		other, _ := f.a.Create(ctx, "DXL-TEST/GOV/AGENCY-B/erp")
		if rec, err := f.a.Authenticate(ctx, cred.KeyID, cred.Secret); err != nil || rec.Subsystem != testSubsystem {
			t.Fatalf("good credential: %v %v", rec, err)
		}
		for name, c := range map[string][2]string{
			"wrong secret":   {cred.KeyID, cred.Secret + "x"},
			"other's secret": {cred.KeyID, other.Secret},
			"unknown key":    {"dxlck_unknown", cred.Secret},
			"empty":          {"", ""},
		} {
			if _, err := f.a.Authenticate(ctx, c[0], c[1]); !errors.Is(err, ErrInvalidClient) || err.Error() != ErrInvalidClient.Error() {
				t.Errorf("%s: err = %v, want bare ErrInvalidClient", name, err)
			}
		}
	})
}

func TestRotateAndRevoke(t *testing.T) {
	stores(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		cred, _ := f.a.Create(ctx, testSubsystem)
		old, err := f.a.Issue(ctx, cred.KeyID, cred.Secret)
		if err != nil {
			t.Fatal(err)
		}
		rot, err := f.a.Rotate(ctx, cred.KeyID)
		if err != nil || rot.Secret == cred.Secret || rot.KeyID != cred.KeyID {
			t.Fatalf("Rotate = %+v, %v", rot, err)
		}
		if _, err := f.a.Issue(ctx, cred.KeyID, cred.Secret); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("old secret after rotation: %v", err)
		}
		if _, err := f.a.Verify(ctx, old.AccessToken); !errors.Is(err, ErrRevoked) {
			t.Fatalf("token from before rotation: %v, want ErrRevoked", err)
		}
		cur, err := f.a.Issue(ctx, rot.KeyID, rot.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := f.a.Verify(ctx, cur.AccessToken); err != nil || p.Subsystem != testSubsystem || p.KeyID != cred.KeyID {
			t.Fatalf("Verify = %+v, %v", p, err)
		}
		if err := f.a.Revoke(ctx, cred.KeyID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.a.Verify(ctx, cur.AccessToken); !errors.Is(err, ErrRevoked) || Codes.Code(err) != "auth_revoked" {
			t.Fatalf("token of revoked credential: %v", err)
		}
		if _, err := f.a.Issue(ctx, rot.KeyID, rot.Secret); !errors.Is(err, ErrInvalidClient) {
			t.Fatalf("revoked credential issued: %v", err)
		}
		if err := f.a.Revoke(ctx, cred.KeyID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
		if _, err := f.a.Rotate(ctx, cred.KeyID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("rotate revoked: %v", err)
		}
	})
}

// forge builds a compact JWS with the given header and claims and a
// signature computed by sign over "header.payload".
func forge(t testing.TB, header, claims any, sign func([]byte) []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	return in + "." + enc.EncodeToString(sign([]byte(in)))
}

func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	cred, _ := f.a.Create(ctx, testSubsystem)
	good, err := f.a.Issue(ctx, cred.KeyID, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	now := testEpoch.Unix()
	claims := map[string]any{
		"iss": testNode, "aud": []string{testNode}, "sub": testSubsystem,
		"iat": now, "nbf": now, "exp": now + 3600, "jti": "x",
		"dxl_kid": cred.KeyID, "dxl_gen": 1,
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&f.a.cfg.Key.PublicKey)
	pubRaw := elliptic.Marshal(elliptic.P256(), f.a.cfg.Key.X, f.a.cfg.Key.Y) //nolint:staticcheck // raw point bytes as an HMAC key is the attack
	hs := func(key []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, key); m.Write(in); return m.Sum(nil) }
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherAuth, _ := New(Config{NodeID: testNode, Key: other, Store: f.store, Now: f.clock.Now})
	otherTok, err := otherAuth.Issue(ctx, cred.KeyID, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	wrongAud, _ := New(Config{NodeID: "DXL-TEST/GOV/AGENCY-B/node-9", Key: f.a.cfg.Key, Store: f.store, Now: f.clock.Now})
	wrongAudTok, err := wrongAud.Issue(ctx, cred.KeyID, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good.AccessToken, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1 // still base64url, different signature
	if sig[5] == parts[2][5] {
		t.Fatal("no change")
	}
	tampered := parts[0] + "." + parts[1] + "." + string(sig)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	elevated := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		bytes.Replace(payload, []byte("portal"), []byte("admin0"), 1)) + "." + parts[2]

	for _, tc := range []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrMissingToken},
		{"garbage", "not a token", ErrInvalidToken},
		{"truncated", good.AccessToken[:len(good.AccessToken)/2], ErrInvalidToken},
		{"json serialization", `{"payload":"e30","protected":"e30","signature":""}`, ErrInvalidToken},
		{"tampered signature", tampered, ErrInvalidToken},
		{"tampered claims", elevated, ErrInvalidToken},
		{"other node key", otherTok.AccessToken, ErrInvalidToken},
		{"wrong issuer and audience", wrongAudTok.AccessToken, ErrInvalidToken},
		{"alg none", forge(t, map[string]string{"alg": "none", "typ": "JWT"}, claims, func([]byte) []byte { return nil }), ErrInvalidToken},
		{"HS256 with PKIX public key", forge(t, map[string]string{"alg": "HS256", "typ": "JWT"}, claims, hs(pubDER)), ErrInvalidToken},
		{"HS256 with raw public key", forge(t, map[string]string{"alg": "HS256", "typ": "JWT"}, claims, hs(pubRaw)), ErrInvalidToken},
		{"ES384 header", forge(t, map[string]string{"alg": "ES384"}, claims, func([]byte) []byte { return make([]byte, 96) }), ErrInvalidToken},
		{"oversized", strings.Repeat("a", MaxTokenBytes) + ".b.c", ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.a.Verify(ctx, tc.token); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := f.a.Verify(ctx, good.AccessToken); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
}

func TestVerifyTimeWindow(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	cred, _ := f.a.Create(ctx, testSubsystem)
	tok, err := f.a.Issue(ctx, cred.KeyID, cred.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Lifetime != time.Hour || !tok.Expires.Equal(testEpoch.Add(time.Hour)) {
		t.Fatalf("lifetime %v expires %v", tok.Lifetime, tok.Expires)
	}
	for _, tc := range []struct {
		name string
		at   time.Duration // offset from issue time
		want error
	}{
		{"at issue", 0, nil},
		{"within leeway before nbf", -20 * time.Second, nil},
		{"not yet valid", -2 * time.Minute, ErrExpired},
		{"just before expiry", time.Hour - time.Second, nil},
		{"within leeway after exp", time.Hour + 20*time.Second, nil},
		{"expired", time.Hour + time.Minute, ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{t: testEpoch.Add(tc.at)}
			a, err := New(Config{NodeID: testNode, Key: f.a.cfg.Key, Store: f.store, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			p, err := a.Verify(ctx, tok.AccessToken)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && !p.Expires.Equal(tok.Expires) {
				t.Fatalf("Expires %v != %v", p.Expires, tok.Expires)
			}
			if tc.want != nil && Codes.Code(err) != "auth_token_expired" {
				t.Fatalf("code %q", Codes.Code(err))
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, code := range Codes.Codes() {
		if seen[code] {
			t.Fatalf("duplicate code %q", code)
		}
		seen[code] = true
		e := Codes.Sentinel(code)
		if got := Codes.Code(errors.Join(errors.New("x"), e)); got != code {
			t.Errorf("Codes.Code(%v) = %q", e, got)
		}
	}
	if Codes.Code(errors.New("other")) != "internal" {
		t.Fatal("unknown error not internal")
	}
}
