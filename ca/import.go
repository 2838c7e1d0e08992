package ca

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// Import records cert, issued by this CA's intermediate somewhere else (a
// copy of the same CA on another registry server), in the database, so that
// this copy's CRL and OCSP know it. It checks that the intermediate signed
// cert and that profile is known; the record is built from the certificate
// (member and peer ID from its URI SANs). Import is idempotent: importing a
// certificate already recorded returns the existing record (whatever its
// status); a different certificate under the same serial is ErrBadRequest.
func (c *CA) Import(ctx context.Context, cert *x509.Certificate, profile Profile) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cert == nil {
		return nil, fmt.Errorf("%w: no certificate", ErrBadRequest)
	}
	if _, ok := profiles[profile]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProfile, profile)
	}
	if !bytes.Equal(cert.RawIssuer, c.inter.RawSubject) {
		return nil, fmt.Errorf("%w: certificate %s was not issued by %s", ErrBadRequest, SerialHex(cert.SerialNumber), c.inter.Subject)
	}
	if err := cert.CheckSignatureFrom(c.inter); err != nil {
		return nil, fmt.Errorf("%w: certificate %s: signature does not verify against the intermediate: %v",
			ErrBadRequest, SerialHex(cert.SerialNumber), err)
	}
	serial := SerialHex(cert.SerialNumber)
	if rec, err := c.db.get(serial); err == nil {
		if !bytes.Equal(rec.DER, cert.Raw) {
			return nil, fmt.Errorf("%w: serial %s already recorded for another certificate", ErrBadRequest, serial)
		}
		return rec, nil
	} else if !errors.Is(err, ErrUnknownSerial) {
		return nil, err
	}
	rec := Record{
		Serial: serial, Profile: profile, Subject: cert.Subject.String(),
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, IssuedAt: c.now().UTC(),
		Fingerprint: Fingerprint(cert), Status: StatusValid, DER: cert.Raw,
	}
	for _, u := range cert.URIs {
		switch s := u.String(); {
		case strings.HasPrefix(s, URIMemberPrefix):
			rec.Member = strings.TrimPrefix(s, URIMemberPrefix)
		case strings.HasPrefix(s, URIPeerPrefix):
			rec.PeerID = strings.TrimPrefix(s, URIPeerPrefix)
		}
	}
	if err := c.db.insert(&rec); err != nil {
		// A concurrent Import of the same certificate won the race.
		if got, gerr := c.db.get(serial); gerr == nil && bytes.Equal(got.DER, cert.Raw) {
			return got, nil
		}
		return nil, err
	}
	c.log.Info("certificate imported", "serial", serial, "profile", profile)
	return &rec, nil
}
