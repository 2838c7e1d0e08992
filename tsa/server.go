package tsa

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/digitorus/timestamp"
)

// DefaultAccuracy is the accuracy claimed in tokens when Config.Accuracy
// is zero.
const DefaultAccuracy = time.Second

// Config configures an Authority.
type Config struct {
	// Signer is the TSA's private key (ECDSA P-256 by default; P-384,
	// P-521 and RSA >= 2048 bits also work).
	Signer crypto.Signer
	// Chain is the TSA certificate first, then its issuers. Intermediates
	// are sent in tokens when the client sets certReq; a self-signed root
	// never is.
	Chain []*x509.Certificate
	// Policy is the TSA policy OID; nil means DefaultPolicy, which is a
	// placeholder (see DefaultPolicy). Every arc must fit in 31 bits.
	Policy asn1.ObjectIdentifier
	// Accuracy is claimed in every token; zero means DefaultAccuracy.
	Accuracy time.Duration
	// Clock returns the time to certify; nil means time.Now.
	Clock func() time.Time
	// Logger receives operational logs; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if len(c.Policy) == 0 {
		c.Policy = DefaultPolicy
	}
	if c.Accuracy == 0 {
		c.Accuracy = DefaultAccuracy
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks the configuration after applying defaults: a policy OID
// that encoding/asn1 can represent (see ParsePolicy), a key and a chain
// whose leaf holds that key, is valid now, has a critical extended key
// usage of id-kp-timeStamping only (RFC 3161 section 2.3) and a key usage
// allowing signatures; each certificate is signed by the next.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Signer == nil {
		return fmt.Errorf("%w: no signer", ErrConfig)
	}
	if len(c.Chain) == 0 || c.Chain[0] == nil {
		return fmt.Errorf("%w: no certificate chain", ErrConfig)
	}
	if c.Accuracy < 0 {
		return fmt.Errorf("%w: negative accuracy", ErrConfig)
	}
	if err := checkPolicy(c.Policy); err != nil {
		return err
	}
	leaf := c.Chain[0]
	if err := CheckTSACertificate(leaf); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	pub, ok := c.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return fmt.Errorf("%w: signer key does not match the TSA certificate", ErrConfig)
	}
	if _, err := signatureHash(leaf.PublicKey); err != nil {
		return err
	}
	for i := 0; i+1 < len(c.Chain); i++ {
		if c.Chain[i+1] == nil {
			return fmt.Errorf("%w: nil certificate in chain", ErrConfig)
		}
		if err := c.Chain[i].CheckSignatureFrom(c.Chain[i+1]); err != nil {
			return fmt.Errorf("%w: chain[%d] is not signed by chain[%d]: %v", ErrConfig, i, i+1, err)
		}
	}
	if now := c.Clock(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return fmt.Errorf("%w: TSA certificate valid %s to %s, not at %s", ErrConfig,
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckTSACertificate reports whether cert may sign time-stamp tokens: its
// extended key usage must be present, critical and exactly
// id-kp-timeStamping, and its key usage, if present, must allow
// digitalSignature or nonRepudiation. Errors wrap ErrEKU.
func CheckTSACertificate(cert *x509.Certificate) error {
	critical := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			critical = e.Critical
		}
	}
	switch {
	case len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(cert.UnknownExtKeyUsage) != 0:
		return fmt.Errorf("%w: extended key usage must be id-kp-timeStamping only", ErrEKU)
	case !critical:
		return fmt.Errorf("%w: extended key usage extension must be critical", ErrEKU)
	case cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		return fmt.Errorf("%w: key usage does not allow signatures", ErrEKU)
	}
	return nil
}

// SerialSource hands out unique, increasing token serial numbers.
// *Serials is the durable implementation.
type SerialSource interface {
	Next() (uint64, error)
}

// Authority issues RFC 3161 time-stamp tokens.
type Authority struct {
	cfg      Config
	serials  SerialSource
	signer   *tokenSigner
	log      *slog.Logger
	rejected map[timestamp.FailureInfo][]byte // precomputed rejection responses
}

// New validates cfg and returns an Authority drawing serials from serials.
// While cfg.Policy is DefaultPolicy it logs a warning, once.
func New(cfg Config, serials SerialSource) (*Authority, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if serials == nil {
		return nil, fmt.Errorf("%w: no serial source", ErrConfig)
	}
	s, err := newTokenSigner(cfg.Signer, cfg.Chain, cfg.Policy, cfg.Accuracy)
	if err != nil {
		return nil, err
	}
	a := &Authority{
		cfg:      cfg,
		serials:  serials,
		signer:   s,
		log:      cfg.Logger.With("component", "tsa"),
		rejected: make(map[timestamp.FailureInfo][]byte),
	}
	for _, fi := range []timestamp.FailureInfo{timestamp.BadAlgorithm, timestamp.BadRequest,
		timestamp.BadDataFormat, timestamp.UnacceptedPolicy, timestamp.UnacceptedExtension, timestamp.SystemFailure} {
		if a.rejected[fi], err = timestamp.CreateErrorResponse(timestamp.Rejection, fi); err != nil {
			return nil, err
		}
	}
	if cfg.Policy.Equal(DefaultPolicy) {
		a.log.Warn("default example-arc policy in use; set your operator's registered OID in tsa.json",
			"policy", cfg.Policy.String())
	}
	return a, nil
}

// Certificate returns the TSA certificate.
func (a *Authority) Certificate() *x509.Certificate { return a.cfg.Chain[0] }

// Chain returns the configured chain, TSA certificate first.
func (a *Authority) Chain() []*x509.Certificate { return a.cfg.Chain }

// Policy returns the policy OID written into tokens.
func (a *Authority) Policy() asn1.ObjectIdentifier { return a.cfg.Policy }

// Stamp answers a DER TimeStampReq with a DER TimeStampResp. It always
// returns a well-formed response: a granted one with a nil error, or a
// rejection (badAlg, badRequest, badDataFormat, unacceptedPolicy,
// unacceptedExtension, systemFailure) together with a *RequestError that
// says why.
func (a *Authority) Stamp(der []byte) ([]byte, error) {
	resp, _, err := a.stamp(der)
	return resp, err
}

// stamp is Stamp that also returns the serial issued (for logs).
func (a *Authority) stamp(der []byte) ([]byte, uint64, error) {
	req, err := ParseRequest(der)
	if err == nil {
		err = req.checkPolicy(a.cfg.Policy)
	}
	if err != nil {
		return a.rejection(err), 0, err
	}
	now := a.cfg.Clock()
	if leaf := a.cfg.Chain[0]; now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		err := reject(ErrSystemFailure, "TSA certificate not valid at %s", now.UTC().Format(time.RFC3339))
		return a.rejection(err), 0, err
	}
	serial, err := a.serials.Next()
	if err != nil {
		err := reject(ErrSystemFailure, "serial number: %v", err)
		return a.rejection(err), 0, err
	}
	tst, err := a.signer.tstInfo(req, serial, now)
	if err == nil {
		var tok []byte
		if tok, err = a.signer.token(tst, req.CertReq); err == nil {
			var resp []byte
			if resp, err = a.signer.response(tok); err == nil {
				return resp, serial, nil
			}
		}
	}
	err = reject(ErrSystemFailure, "signing: %v", err)
	return a.rejection(err), serial, err
}

func (a *Authority) rejection(err error) []byte {
	fi := timestamp.SystemFailure
	var re *RequestError
	if errors.As(err, &re) {
		fi = re.Failure
	}
	if resp, ok := a.rejected[fi]; ok {
		return resp
	}
	return a.rejected[timestamp.SystemFailure]
}

// Handler returns the RFC 3161 HTTP transport: POST / with Content-Type
// application/timestamp-query, answered 200 application/timestamp-reply
// with a TimeStampResp, granted or rejected. Other methods get 405, other
// content types 415, bodies over MaxRequestSize 413, other paths 404.
func (a *Authority) Handler() http.Handler { return http.HandlerFunc(a.serveHTTP) }

func (a *Authority) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: POST an "+ContentTypeQuery, http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != ContentTypeQuery {
		http.Error(w, "unsupported media type: want "+ContentTypeQuery, http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > MaxRequestSize {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		a.log.Debug("reading time-stamp request", "remote_addr", r.RemoteAddr, "error", err)
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	resp, serial, err := a.stamp(body)
	var re *RequestError
	switch {
	case err == nil:
		a.log.Debug("token issued", "serial", serial, "remote_addr", r.RemoteAddr)
	case errors.As(err, &re) && re.Failure == timestamp.SystemFailure:
		a.log.Error("time-stamp request failed", "remote_addr", r.RemoteAddr, "error", err)
	default:
		a.log.Info("time-stamp request rejected", "remote_addr", r.RemoteAddr, "failure_info", failureName(err), "reason", err)
	}
	h := w.Header()
	h.Set("Content-Type", ContentTypeReply)
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
}

// readBody reads at most MaxRequestSize bytes of the request body.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestSize))
}

func failureName(err error) string {
	var re *RequestError
	if !errors.As(err, &re) {
		return "system_failure"
	}
	switch re.Failure {
	case timestamp.BadAlgorithm:
		return "bad_alg"
	case timestamp.BadRequest:
		return "bad_request"
	case timestamp.BadDataFormat:
		return "bad_data_format"
	case timestamp.UnacceptedPolicy:
		return "unaccepted_policy"
	case timestamp.UnacceptedExtension:
		return "unaccepted_extension"
	}
	return "system_failure"
}

// TimeStampingExtension returns the extension a TSA certificate needs: a
// critical extended key usage of id-kp-timeStamping only (RFC 3161
// section 2.3). crypto/x509 marks ExtKeyUsage non-critical, so a CA must
// put this in the template's ExtraExtensions instead.
func TimeStampingExtension() pkix.Extension {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	return pkix.Extension{Id: oidExtKeyUsage, Critical: true, Value: v}
}
