package envelope

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// uriMemberPrefix is ca.URIMemberPrefix (not imported: the node need not
// link the CA).
const uriMemberPrefix = "urn:dxl:member:"

// SignerInfo describes an accepted signer certificate.
type SignerInfo struct {
	Member    ident.Member
	Cert      *x509.Certificate
	PublicKey crypto.PublicKey
	// Serials are the lower-case hex serials (as in the global
	// configuration's revoked list) of the signer certificate and of the
	// intermediates of its chain, leaf first.
	Serials []string
}

// CertChecker decides whether a certificate may sign envelopes at now:
// chain to the network root, member-sign key usage, one urn:dxl:member URI.
// Failures wrap ErrSigner (or ErrUnsupportedKey). hash is SHA-256(der).
type CertChecker interface {
	CheckSigner(der []byte, hash [32]byte, now time.Time) (*SignerInfo, error)
}

// ChainChecker is a CertChecker over x509 pools, caching accepted
// certificates by hash (bounded) so a steady peer costs one map lookup.
type ChainChecker struct {
	roots, inters *x509.CertPool
	max           int

	mu    sync.RWMutex
	cache map[[32]byte]*chainEntry
}

type chainEntry struct {
	info                *SignerInfo
	notBefore, notAfter time.Time // intersection over the chain
}

// NewChainChecker returns a ChainChecker; intermediates may be nil.
// maxCached <= 0 means 4096.
func NewChainChecker(roots, intermediates *x509.CertPool, maxCached int) *ChainChecker {
	if maxCached <= 0 {
		maxCached = 4096
	}
	return &ChainChecker{roots: roots, inters: intermediates, max: maxCached, cache: make(map[[32]byte]*chainEntry)}
}

// CheckSigner implements CertChecker.
func (c *ChainChecker) CheckSigner(der []byte, hash [32]byte, now time.Time) (*SignerInfo, error) {
	c.mu.RLock()
	e := c.cache[hash]
	c.mu.RUnlock()
	if e == nil {
		var err error
		if e, err = c.check(der, now); err != nil {
			return nil, err
		}
		c.mu.Lock()
		if len(c.cache) >= c.max {
			for k := range c.cache { // evict an arbitrary entry
				delete(c.cache, k)
				break
			}
		}
		c.cache[hash] = e
		c.mu.Unlock()
	}
	if now.Before(e.notBefore) || now.After(e.notAfter) {
		return nil, fmt.Errorf("%w: certificate chain not valid at %s", ErrSigner, now.UTC().Format(time.RFC3339))
	}
	return e.info, nil
}

func (c *ChainChecker) check(der []byte, now time.Time) (*chainEntry, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrSigner, err)
	}
	if err := checkKey(cert.PublicKey); err != nil {
		return nil, err
	}
	if cert.KeyUsage&x509.KeyUsageContentCommitment == 0 || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: certificate lacks digitalSignature + contentCommitment (not member-sign)", ErrSigner)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: c.inters, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSigner, err)
	}
	m, err := certMember(cert)
	if err != nil {
		return nil, err
	}
	chain := chains[0]
	e := &chainEntry{info: &SignerInfo{Member: m, Cert: cert, PublicKey: cert.PublicKey}, notBefore: cert.NotBefore, notAfter: cert.NotAfter}
	for i, cc := range chain {
		if cc.NotBefore.After(e.notBefore) {
			e.notBefore = cc.NotBefore
		}
		if cc.NotAfter.Before(e.notAfter) {
			e.notAfter = cc.NotAfter
		}
		if i < len(chain)-1 { // not the root
			e.info.Serials = append(e.info.Serials, hex.EncodeToString(cc.SerialNumber.Bytes()))
		}
	}
	return e, nil
}

// certMember returns the member of the certificate's single
// urn:dxl:member: URI SAN.
func certMember(cert *x509.Certificate) (ident.Member, error) {
	var found []string
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, uriMemberPrefix) {
			found = append(found, strings.TrimPrefix(s, uriMemberPrefix))
		}
	}
	if len(found) != 1 {
		return ident.Member{}, fmt.Errorf("%w: certificate has %d %s URIs (want 1)", ErrSigner, len(found), uriMemberPrefix)
	}
	m, err := ident.ParseMember(found[0], "")
	if err != nil {
		return ident.Member{}, fmt.Errorf("%w: member URI: %v", ErrSigner, err)
	}
	return m, nil
}

// Policy is what a verifier knows: the clock, the skew window (the global
// configuration's policy.max_clock_skew), the trusted CA chain and the
// revoked serials.
type Policy struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxSkew bounds |now - envelope time|; it must be positive.
	MaxSkew time.Duration
	// Certs checks signer certificates (a *ChainChecker over the
	// configuration's CA certificates).
	Certs CertChecker
	// Revoked reports whether a lower-case hex serial is revoked
	// (globalconf.Document.IsRevoked); nil means none is.
	Revoked func(serial string) bool
	// ExpectedSigner, if set, must be the signer's member (for a request:
	// the member of the peer node's node-auth certificate).
	ExpectedSigner ident.Member
	// LocalPeer, if set, is this node's libp2p peer ID: a request must be
	// addressed to it (Request.Target), else ErrBinding.
	LocalPeer string
}

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// verify runs the steps common to both kinds: certificate hash,
// certificate, signature. It returns the signer.
func (p *Policy) verify(signed, cert, sig []byte, prefix string, now time.Time) (*SignerInfo, error) {
	if p.Certs == nil || p.MaxSkew <= 0 {
		return nil, fmt.Errorf("envelope: policy needs Certs and a positive MaxSkew")
	}
	ch, err := header(signed, prefix)
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(cert) != ch {
		return nil, fmt.Errorf("%w: certificate does not match its signed hash", ErrSignature)
	}
	info, err := p.Certs.CheckSigner(cert, ch, now)
	if err != nil {
		return nil, err
	}
	if !verifySig(info.PublicKey, signed, sig) {
		return nil, ErrSignature
	}
	if p.Revoked != nil {
		for _, s := range info.Serials {
			if p.Revoked(s) {
				return nil, fmt.Errorf("%w: serial %s", ErrRevoked, s)
			}
		}
	}
	if !p.ExpectedSigner.IsZero() && info.Member != p.ExpectedSigner {
		return nil, fmt.Errorf("%w: signed by %s, expected %s", ErrSigner, info.Member, p.ExpectedSigner)
	}
	return info, nil
}

func verifySig(pub crypto.PublicKey, signed, sig []byte) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, signed, sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(signed)
		return ecdsa.VerifyASN1(k, d[:], sig)
	}
	return false
}

func (p *Policy) checkSkew(t, now time.Time) error {
	if d := now.Sub(t); d > p.MaxSkew || d < -p.MaxSkew {
		return fmt.Errorf("%w: envelope time %s, now %s (max skew %s)", ErrClockSkew,
			t.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano), p.MaxSkew)
	}
	return nil
}

// VerifyRequest verifies a received request envelope, in this order:
// size (ErrTooLarge), framing (ErrMalformed), certificate hash and
// signature (ErrSignature), signer certificate (ErrSigner,
// ErrUnsupportedKey), revocation (ErrRevoked), expected signer and
// client member = signer member (ErrSigner), fields (ErrMalformed), time
// (ErrClockSkew) and last the request ID (ErrReplay, ErrOverloaded), so
// only authentic, timely requests enter the replay cache. replay must
// cover at least p.MaxSkew. A request refused by the replay guard is
// returned with the error (it is authentic; the caller logs it).
func VerifyRequest(raw []byte, p Policy, replay ReplayGuard) (*SignedRequest, error) {
	now := p.now()
	signed, cert, sig, err := split(raw)
	if err != nil {
		return nil, err
	}
	info, err := p.verify(signed, cert, sig, RequestPrefix, now)
	if err != nil {
		return nil, err
	}
	r, err := decodeRequest(signed)
	if err != nil {
		return nil, err
	}
	if r.ClientMember() != info.Member {
		return nil, fmt.Errorf("%w: client %s signed by member %s", ErrSigner, r.Client, info.Member)
	}
	if p.LocalPeer != "" && r.Target != p.LocalPeer {
		return nil, fmt.Errorf("%w: request addressed to node %s, not this node", ErrBinding, r.Target)
	}
	if err := p.checkSkew(r.Time, now); err != nil {
		return nil, err
	}
	if replay == nil || replay.Window() < p.MaxSkew {
		return nil, fmt.Errorf("envelope: replay guard missing or shorter than the skew window %s", p.MaxSkew)
	}
	sr := &SignedRequest{Request: r, Raw: raw, Hash: sha256.Sum256(raw), Signed: signed, CertDER: cert, Signature: sig, Signer: info}
	if err := replay.Mark(r.RequestID, r.Time, now); err != nil {
		return sr, err // authentic, but not to be executed: for the records
	}
	return sr, nil
}

// VerifyResponse verifies the response envelope raw to the request sent:
// as VerifyRequest for size, framing, signature, certificate and
// revocation; the signer must be the provider member of sent.Service
// (ErrSigner); request ID and request hash must match sent (ErrBinding);
// time within the skew window (ErrClockSkew). p.ExpectedSigner, if set,
// is checked too. No replay cache is needed: the binding to a request the
// caller sent once makes a response single-use.
func VerifyResponse(raw []byte, sent *SignedRequest, p Policy) (*SignedResponse, error) {
	now := p.now()
	signed, cert, sig, err := split(raw)
	if err != nil {
		return nil, err
	}
	info, err := p.verify(signed, cert, sig, ResponsePrefix, now)
	if err != nil {
		return nil, err
	}
	r, err := decodeResponse(signed)
	if err != nil {
		return nil, err
	}
	if info.Member != sent.ProviderMember() {
		return nil, fmt.Errorf("%w: response signed by %s, provider is %s", ErrSigner, info.Member, sent.ProviderMember())
	}
	if r.RequestID != sent.RequestID || r.RequestHash != sent.Hash {
		return nil, fmt.Errorf("%w: response to request %s is not bound to request %s as sent", ErrBinding, r.RequestID, sent.RequestID)
	}
	if err := p.checkSkew(r.Time, now); err != nil {
		return nil, err
	}
	return &SignedResponse{Response: r, Raw: raw, Hash: sha256.Sum256(raw), Signed: signed, CertDER: cert, Signature: sig, Signer: info}, nil
}
