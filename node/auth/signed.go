package auth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // DXL-HMAC-SHA1, only for keys an operator enabled it for
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Signed-request defaults.
const (
	DefaultSignedSkew = 2 * time.Minute // the global configuration's default max_clock_skew
	// MaxSignedSkew caps the accepted skew, and so how long a signature
	// must be remembered.
	MaxSignedSkew          = 10 * time.Minute
	DefaultSessionLifetime = 15 * time.Minute
	DefaultMaxSessions     = 10000
	DefaultReplayEntries   = 1_000_000
)

// KeysConfig configures AccessKeys.
type KeysConfig struct {
	Store KeyStore // required
	// SealKey (32 bytes) seals HMAC secrets at rest. Required.
	SealKey []byte
	// MaxSkew is the accepted difference between X-DXL-Date and the
	// node's clock, read on every request (the global configuration's
	// max_clock_skew; default 2 min, capped at 10 min).
	MaxSkew func() time.Duration
	// SessionLifetime is a session key's lifetime (default 15 min, 1 min..12 h).
	SessionLifetime time.Duration
	MaxSessions     int // session keys held at once (default 10000)
	ReplayEntries   int // signatures remembered at once (default 1,000,000)
	Now             func() time.Time
	Rand            io.Reader
	Logger          *slog.Logger
}

// AccessKeys authenticates information systems by signed requests with
// access keys (HMAC or RSA) and session keys. Safe for concurrent use.
type AccessKeys struct {
	cfg    KeysConfig
	seal   *sealer
	log    *slog.Logger
	randMu sync.Mutex
	replay *sigReplay
	sess   *sessions
	signed *prometheus.CounterVec
}

// Collectors returns the signed-request metrics, for the node's /metrics
// registry: dxl_signed_requests_total{result="ok"|CODE}, "ok" for a
// signature accepted (its body may still fail: auth_body_mismatch).
func (k *AccessKeys) Collectors() []prometheus.Collector { return []prometheus.Collector{k.signed} }

// NewAccessKeys returns the access-key authenticator of cfg.
func NewAccessKeys(cfg KeysConfig) (*AccessKeys, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: Store is required", ErrConfig)
	}
	s, err := newSealer(cfg.SealKey)
	if err != nil {
		return nil, err
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.SessionLifetime < time.Minute || cfg.SessionLifetime > 12*time.Hour {
		return nil, fmt.Errorf("%w: SessionLifetime %v outside 1m..12h", ErrConfig, cfg.SessionLifetime)
	}
	cfg.MaxSessions = cmpOr(cfg.MaxSessions, DefaultMaxSessions)
	cfg.ReplayEntries = cmpOr(cfg.ReplayEntries, DefaultReplayEntries)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	k := &AccessKeys{cfg: cfg, seal: s, log: cfg.Logger.With("component", "auth"),
		replay: newSigReplay(2*MaxSignedSkew, cfg.ReplayEntries)}
	pk, err := k.random(32) // derives session secrets; never leaves the process
	if err != nil {
		return nil, err
	}
	k.sess = newSessions(pk, cfg.MaxSessions)
	k.signed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dxl_signed_requests_total",
		Help: "Requests signed with an access key or a session key, by result: ok or the refusal's code.",
	}, []string{"result"})
	k.signed.WithLabelValues("ok") // exposed at 0
	return k, nil
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (k *AccessKeys) random(n int) ([]byte, error) {
	b := make([]byte, n)
	k.randMu.Lock()
	_, err := io.ReadFull(k.cfg.Rand, b)
	k.randMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("auth: read random: %w", err)
	}
	return b, nil
}

func (k *AccessKeys) randomString(prefix string, n int) (string, error) {
	b, err := k.random(n)
	if err != nil {
		return "", err
	}
	return prefix + strings.ToLower(b32.EncodeToString(b)), nil
}

func (k *AccessKeys) skew() time.Duration {
	d := DefaultSignedSkew
	if k.cfg.MaxSkew != nil {
		if s := k.cfg.MaxSkew(); s > 0 {
			d = s
		}
	}
	return min(d, MaxSignedSkew)
}

// Create makes an access key: an HMAC key with a new secret (returned
// once, stored sealed), or an RSA key for the public key given.
func (k *AccessKeys) Create(ctx context.Context, req NewAccessKey) (IssuedAccessKey, error) {
	if err := CheckSubsystem(req.Subsystem); err != nil {
		return IssuedAccessKey{}, err
	}
	id, err := k.randomString(AccessKeyPrefix, keyBytes)
	if err != nil {
		return IssuedAccessKey{}, err
	}
	rec := AccessKey{ID: id, Subsystem: req.Subsystem, Kind: KindHMAC, AllowSHA1: req.AllowSHA1, Created: k.cfg.Now().UTC()}
	out := IssuedAccessKey{AccessKey: id, Subsystem: req.Subsystem, Kind: KindHMAC, AllowSHA1: req.AllowSHA1}
	if req.RSAPublicKey != "" {
		if req.AllowSHA1 {
			return IssuedAccessKey{}, fmt.Errorf("%w: HMAC-SHA1 is for HMAC keys", ErrConfig)
		}
		if _, rec.PublicKey, err = ParseRSAPublicKey(req.RSAPublicKey); err != nil {
			return IssuedAccessKey{}, err
		}
		rec.Kind, out.Kind = KindRSA, KindRSA
	} else {
		if out.Secret, err = k.randomString(AccessSecretPrefix, secretBytes); err != nil {
			return IssuedAccessKey{}, err
		}
		nonce, err := k.random(12)
		if err != nil {
			return IssuedAccessKey{}, err
		}
		rec.SealedSecret = k.seal.seal(id, []byte(out.Secret), nonce)
	}
	if err := k.cfg.Store.PutKey(ctx, rec); err != nil {
		return IssuedAccessKey{}, wrapStore(err)
	}
	k.log.Info("access key created", "access_key", id, "subsystem", req.Subsystem, "kind", rec.Kind, "allow_hmac_sha1", rec.AllowSHA1)
	return out, nil
}

// List returns the access keys, without their sealed secrets.
func (k *AccessKeys) List(ctx context.Context) ([]AccessKey, error) {
	ks, err := k.cfg.Store.ListKeys(ctx)
	if err != nil {
		return nil, wrapStore(err)
	}
	for i := range ks {
		ks[i] = ks[i].Public()
	}
	return ks, nil
}

// Revoke revokes id: its secret is destroyed, it and its session keys
// are refused from then on (auth_access_key_revoked).
func (k *AccessKeys) Revoke(ctx context.Context, id string) (AccessKey, error) {
	rec, err := k.cfg.Store.GetKey(ctx, id)
	if err != nil {
		return AccessKey{}, wrapKeyStore(err)
	}
	if rec.Revoked.IsZero() {
		rec.Revoked, rec.SealedSecret = k.cfg.Now().UTC(), nil
		if err := k.cfg.Store.PutKey(ctx, rec); err != nil {
			return AccessKey{}, wrapStore(err)
		}
		k.log.Info("access key revoked", "access_key", id, "subsystem", rec.Subsystem)
	}
	return rec.Public(), nil
}

func wrapKeyStore(err error) error {
	if errors.Is(err, ErrUnknownKey) {
		return err
	}
	return wrapStore(err)
}

// activeKey returns id's record if it exists and is not revoked.
func (k *AccessKeys) activeKey(ctx context.Context, id string) (AccessKey, error) {
	rec, err := k.cfg.Store.GetKey(ctx, id)
	if err != nil {
		return AccessKey{}, wrapKeyStore(err)
	}
	if !rec.Revoked.IsZero() {
		return AccessKey{}, fmt.Errorf("%w: %s since %s", ErrKeyRevoked, id, rec.Revoked.Format(time.RFC3339))
	}
	return rec, nil
}

// VerifyRequest authenticates a signed request (its Authorization header
// is a DXL- scheme, IsSigned): header syntax, X-DXL-Date within the skew,
// the key (or session key) and its algorithm, the signature over
// StringToSign, then that the signature was not seen before. r.Body is
// replaced by a reader that fails with ErrBodyMismatch at its end unless
// the body's SHA-256 is X-DXL-Content-SHA256: whoever reads the body must
// read it to the end before acting on it.
func (k *AccessKeys) VerifyRequest(r *http.Request) (Principal, error) {
	p, err := k.verifyRequest(r)
	result := "ok"
	if err != nil {
		result = Codes.Code(err)
	}
	k.signed.WithLabelValues(result).Inc()
	return p, err
}

func (k *AccessKeys) verifyRequest(r *http.Request) (Principal, error) {
	a, err := ParseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return Principal{}, err
	}
	at, err := ParseDate(r.Header.Get(HeaderDate))
	if err != nil {
		return Principal{}, err
	}
	now := k.cfg.Now()
	if d := now.Sub(at); d > k.skew() || d < -k.skew() {
		return Principal{}, fmt.Errorf("%w: %s is %s, the node's clock %s (±%v)", ErrStale, HeaderDate,
			at.Format(DateFormat), now.UTC().Format(DateFormat), k.skew())
	}
	bodyHash := r.Header.Get(HeaderContentSHA256)
	sum, err := checkBodyHash(bodyHash)
	if err != nil {
		return Principal{}, err
	}
	sts, err := StringToSign(r, a, bodyHash)
	if err != nil {
		return Principal{}, err
	}
	p, err := k.checkSignature(r.Context(), a, []byte(sts))
	if err != nil {
		return Principal{}, err
	}
	if err := k.replay.mark(replayKey(a), now); err != nil {
		return Principal{}, err
	}
	r.Body = &bodyCheck{r: r.Body, h: sha256.New(), want: sum, failed: k.signed.WithLabelValues(Codes.Code(ErrBodyMismatch))}
	return p, nil
}

// checkSignature finds the credential's key and checks the signature.
func (k *AccessKeys) checkSignature(ctx context.Context, a Authorization, sts []byte) (Principal, error) {
	if strings.HasPrefix(a.Credential, SessionKeyPrefix) {
		return k.checkSession(ctx, a, sts)
	}
	rec, err := k.activeKey(ctx, a.Credential)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Subsystem: rec.Subsystem, KeyID: rec.ID}
	switch {
	case rec.Kind == KindRSA && (a.Algorithm == AlgRSASHA256 || a.Algorithm == AlgRSAPSSSHA256):
		return p, verifyRSA(rec, a, sts)
	case rec.Kind == KindHMAC && (a.Algorithm == AlgHMACSHA256 || a.Algorithm == AlgHMACSHA1 && rec.AllowSHA1):
		secret, err := k.seal.open(rec.ID, rec.SealedSecret)
		if err != nil {
			return Principal{}, err
		}
		return p, verifyHMAC(a, secret, sts)
	}
	return Principal{}, fmt.Errorf("%w: %s with a %s key%s", ErrAlgorithm, a.Algorithm, rec.Kind, sha1Hint(a, rec))
}

func sha1Hint(a Authorization, rec AccessKey) string {
	if a.Algorithm == AlgHMACSHA1 && rec.Kind == KindHMAC {
		return " (HMAC-SHA1 is not enabled for it; an operator enables it per key for old systems)"
	}
	return ""
}

// HMACSignature is the hex-decoded signature of sts with secret.
func HMACSignature(alg string, secret, sts []byte) []byte {
	h := sha256.New
	if alg == AlgHMACSHA1 {
		h = func() hash.Hash { return sha1.New() } //nolint:gosec // enabled per key
	}
	m := hmac.New(h, secret)
	m.Write(sts)
	return m.Sum(nil)
}

func verifyHMAC(a Authorization, secret, sts []byte) error {
	if !hmac.Equal(HMACSignature(a.Algorithm, secret, sts), a.Signature) {
		return fmt.Errorf("%w: %s over the canonical request", ErrBadSignature, a.Algorithm)
	}
	return nil
}

func verifyRSA(rec AccessKey, a Authorization, sts []byte) error {
	pub, err := x509.ParsePKIXPublicKey(rec.PublicKey)
	rk, ok := pub.(*rsa.PublicKey)
	if err != nil || !ok {
		return fmt.Errorf("%w: stored RSA key of %s unreadable", ErrStore, rec.ID)
	}
	d := sha256.Sum256(sts)
	if a.Algorithm == AlgRSAPSSSHA256 {
		err = rsa.VerifyPSS(rk, crypto.SHA256, d[:], a.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	} else {
		err = rsa.VerifyPKCS1v15(rk, crypto.SHA256, d[:], a.Signature)
	}
	if err != nil {
		return fmt.Errorf("%w: %s over the canonical request", ErrBadSignature, a.Algorithm)
	}
	return nil
}

// bodyCheck hashes a signed request's body and fails at its end if it is
// not the one signed.
type bodyCheck struct {
	r      io.ReadCloser
	h      hash.Hash
	want   [32]byte
	failed prometheus.Counter
}

func (b *bodyCheck) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		var got [32]byte
		b.h.Sum(got[:0])
		if got != b.want {
			b.failed.Inc()
			return n, fmt.Errorf("%w: the body's SHA-256 is %x", ErrBodyMismatch, got)
		}
	}
	return n, err
}

func (b *bodyCheck) Close() error { return b.r.Close() }

func replayKey(a Authorization) [32]byte {
	h := sha256.New()
	h.Write([]byte(a.Credential + "\x00"))
	h.Write(a.Signature)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// sigReplay remembers accepted signatures for at least period: two
// generations, the older dropped whole when the newer is period old.
type sigReplay struct {
	period time.Duration
	max    int

	mu        sync.Mutex
	since     time.Time
	cur, prev map[[32]byte]struct{}
}

func newSigReplay(period time.Duration, max int) *sigReplay {
	return &sigReplay{period: period, max: max, cur: map[[32]byte]struct{}{}, prev: map[[32]byte]struct{}{}}
}

// mark records key, or fails with ErrReplayed if it is remembered.
func (s *sigReplay) mark(key [32]byte, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.since.IsZero() {
		s.since = now
	}
	if el := now.Sub(s.since); el >= s.period {
		s.prev = s.cur
		if el >= 2*s.period {
			s.prev = map[[32]byte]struct{}{}
		}
		s.cur, s.since = map[[32]byte]struct{}{}, now
	}
	_, a := s.cur[key]
	_, b := s.prev[key]
	if a || b {
		return fmt.Errorf("%w: each signature is accepted once; sign the request again", ErrReplayed)
	}
	if len(s.cur)+len(s.prev) >= s.max {
		return fmt.Errorf("%w: %d signatures held", ErrBusy, s.max)
	}
	s.cur[key] = struct{}{}
	return nil
}
