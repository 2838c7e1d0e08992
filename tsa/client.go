package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"strings"
	"time"
)

// maxResponseSize caps a TimeStampResp read from the network. A token
// with a three-certificate RSA chain is under 8 KiB.
const maxResponseSize = 1 << 20

// ClientOption adjusts requests made by Request and Client.
type ClientOption func(*clientOptions)

type clientOptions struct {
	http    *http.Client
	policy  asn1.ObjectIdentifier
	nonce   *big.Int
	noCerts bool
}

// WithHTTPClient sets the HTTP client (default: 30 s timeout).
func WithHTTPClient(c *http.Client) ClientOption { return func(o *clientOptions) { o.http = c } }

// WithPolicy asks for a token under policy.
func WithPolicy(policy asn1.ObjectIdentifier) ClientOption {
	return func(o *clientOptions) { o.policy = policy }
}

// WithNonce fixes the nonce instead of drawing a random 64-bit one.
func WithNonce(n *big.Int) ClientOption { return func(o *clientOptions) { o.nonce = n } }

// WithoutCertificates clears certReq: the token will not carry the TSA's
// certificates, and verifiers need VerifyOptions.TSACert.
func WithoutCertificates() ClientOption { return func(o *clientOptions) { o.noCerts = true } }

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// Client requests tokens from one TSA over the RFC 3161 HTTP transport.
// It implements Stamper.
type Client struct {
	url  string
	opts clientOptions
}

// NewClient returns a client for the TSA at url.
func NewClient(url string, opts ...ClientOption) *Client {
	c := &Client{url: url}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.http == nil {
		c.opts.http = defaultHTTPClient
	}
	return c
}

// Request asks the TSA at url to time-stamp digest, a hash made with h,
// and returns the DER TimeStampResp (what openssl ts -reply writes to a
// .tsr file). The request carries a random 64-bit nonce and certReq; the
// reply is checked for status (ErrRejected), imprint (ErrImprint), nonce
// (ErrNonce), requested policy (ErrPolicy) and, when the token carries
// its signer certificate, signature (ErrSignature). Whether the TSA is
// trusted is Verify's business.
func Request(ctx context.Context, url string, digest []byte, h crypto.Hash, opts ...ClientOption) ([]byte, error) {
	return NewClient(url, opts...).Request(ctx, digest, h)
}

// Request is the package-level Request for this client's TSA.
func (c *Client) Request(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	return exchange(ctx, digest, h, c.opts, c.post)
}

// Stamp implements Stamper: it time-stamps digest (SHA-256, SHA-384 or
// SHA-512, told apart by length) and returns the bare TimeStampToken.
func (c *Client) Stamp(ctx context.Context, digest []byte) ([]byte, error) {
	resp, err := c.Request(ctx, digest, hashForLength(len(digest)))
	if err != nil {
		return nil, err
	}
	return splitResponse(resp)
}

func hashForLength(n int) crypto.Hash {
	switch n {
	case 48:
		return crypto.SHA384
	case 64:
		return crypto.SHA512
	}
	return crypto.SHA256
}

func (c *Client) post(ctx context.Context, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	req.Header.Set("Content-Type", ContentTypeQuery)
	req.Header.Set("Accept", ContentTypeReply)
	resp, err := c.opts.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tsa: POST %s: %w", c.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return nil, fmt.Errorf("tsa: reading reply from %s: %w", c.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(data[:min(len(data), 200)]))
		return nil, fmt.Errorf("%w: %s answered %s: %q", ErrHTTP, c.url, resp.Status, msg)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ContentTypeReply {
		return nil, fmt.Errorf("%w: %s answered Content-Type %q", ErrHTTP, c.url, resp.Header.Get("Content-Type"))
	}
	if len(data) > maxResponseSize {
		return nil, fmt.Errorf("%w: reply from %s larger than %d bytes", ErrHTTP, c.url, maxResponseSize)
	}
	return data, nil
}

// exchange builds a request, sends it and checks the reply against it.
func exchange(ctx context.Context, digest []byte, h crypto.Hash, o clientOptions, send func(context.Context, []byte) ([]byte, error)) ([]byte, error) {
	nonce := o.nonce
	if nonce == nil {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		nonce = new(big.Int).SetUint64(binary.BigEndian.Uint64(b[:]))
	}
	req, err := MarshalRequest(h, digest, RequestOptions{Nonce: nonce, Policy: o.policy, CertReq: !o.noCerts})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	resp, err := send(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := checkReply(resp, digest, h, nonce, o.policy); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkReply matches a reply to its request, without judging trust.
func checkReply(resp, digest []byte, h crypto.Hash, nonce *big.Int, policy asn1.ObjectIdentifier) error {
	t, err := decode(resp)
	if err != nil {
		var rej *RejectionError
		if errors.As(err, &rej) {
			return err
		}
		return fmt.Errorf("reply: %w", err)
	}
	if t.ts.HashAlgorithm != h || !bytes.Equal(t.ts.HashedMessage, digest) {
		return fmt.Errorf("%w: reply certifies another digest", ErrImprint)
	}
	if t.ts.Nonce == nil || t.ts.Nonce.Cmp(nonce) != 0 {
		return fmt.Errorf("%w: reply nonce %v, sent %v", ErrNonce, t.ts.Nonce, nonce)
	}
	if len(policy) > 0 && !t.ts.Policy.Equal(policy) {
		return fmt.Errorf("%w: asked for %s, got %s", ErrPolicy, policy, t.ts.Policy)
	}
	if t.signer != nil {
		if err := t.checkSignature(); err != nil {
			return err
		}
	}
	return nil
}
