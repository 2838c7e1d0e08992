package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Reason is an RFC 5280 CRLReason.
type Reason int

// The revocation reasons DXL accepts. certificateHold is left out on
// purpose: a DXL revocation is final.
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonCACompromise         Reason = 2
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonPrivilegeWithdrawn   Reason = 9
)

var reasonNames = map[Reason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
}

func (r Reason) String() string { return reasonNames[r] }

// ParseReason reads a reason name (case-insensitive); "" is unspecified.
func ParseReason(s string) (Reason, error) {
	if s == "" {
		return ReasonUnspecified, nil
	}
	for r, name := range reasonNames {
		if strings.EqualFold(name, s) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("%w: %q (known: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn)", ErrBadReason, s)
}

// CRL returns the current DER CRL, signed by the intermediate. A new CRL
// (with the next CRL number) is made after a revocation or once half of
// the previous one's validity has passed.
func (c *CA) CRL(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.crlStale && c.crl != nil && now.Sub(c.crlAt) < time.Duration(c.cfg.CRLValidity)/crlRegenerateAtRatio {
		return c.crl, nil
	}
	revoked, err := c.db.list(func(r *Record) bool { return r.Status == StatusRevoked })
	if err != nil {
		return nil, err
	}
	num, err := c.db.nextCRLNumber()
	if err != nil {
		return nil, err
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		serial, _ := new(big.Int).SetString(r.Serial, 16)
		reason, _ := ParseReason(r.Reason)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: serial, RevocationTime: *r.RevokedAt, ReasonCode: int(reason)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    new(big.Int).SetUint64(num),
		ThisUpdate:                now.Add(-defaultLeafBackdate),
		NextUpdate:                now.Add(time.Duration(c.cfg.CRLValidity)),
		RevokedCertificateEntries: entries,
	}, c.inter, c.key)
	if err != nil {
		return nil, fmt.Errorf("ca: create CRL: %w", err)
	}
	c.crl, c.crlAt, c.crlStale = der, now, false
	return der, nil
}

// MaxOCSPRequest caps an OCSP request body.
const MaxOCSPRequest = 8 << 10

// OCSP answers one DER OCSP request (RFC 6960). It always returns a DER
// OCSPResponse: a malformed request gets malformedRequest, a request for
// another issuer gets unauthorized, an unknown serial gets status unknown.
// Responses carry no nonce (x/crypto/ocsp cannot place one among the
// response extensions); freshness comes from thisUpdate/nextUpdate, as with
// most public CAs, and OpenSSL only warns about it.
func (c *CA) OCSP(reqDER []byte) []byte {
	req, err := ocsp.ParseRequest(reqDER)
	if err != nil || len(reqDER) > MaxOCSPRequest {
		return ocsp.MalformedRequestErrorResponse
	}
	if !c.issuedByUs(req) {
		return ocsp.UnauthorizedErrorResponse
	}
	now := c.now()
	tmpl := ocsp.Response{
		SerialNumber: req.SerialNumber,
		ThisUpdate:   now.Add(-defaultLeafBackdate),
		NextUpdate:   now.Add(time.Duration(c.cfg.OCSPValidity)),
		Status:       ocsp.Unknown,
	}
	if rec, err := c.db.get(SerialHex(req.SerialNumber)); err == nil {
		tmpl.Status = ocsp.Good
		if rec.Status == StatusRevoked {
			reason, _ := ParseReason(rec.Reason)
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, *rec.RevokedAt, int(reason)
		}
	}
	resp, err := ocsp.CreateResponse(c.inter, c.inter, tmpl, c.key)
	if err != nil {
		c.log.Error("ocsp sign failed", "error", err)
		return ocsp.InternalErrorErrorResponse
	}
	return resp
}

func (c *CA) issuedByUs(req *ocsp.Request) bool {
	h := req.HashAlgorithm
	if h != crypto.SHA1 && h != crypto.SHA256 && h != crypto.SHA384 && h != crypto.SHA512 {
		return false
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.inter.RawSubjectPublicKeyInfo, &spki); err != nil {
		return false
	}
	nameHash, keyHash := h.New(), h.New()
	nameHash.Write(c.inter.RawSubject)
	keyHash.Write(spki.PublicKey.RightAlign())
	return bytes.Equal(nameHash.Sum(nil), req.IssuerNameHash) && bytes.Equal(keyHash.Sum(nil), req.IssuerKeyHash)
}
