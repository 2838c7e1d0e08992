package tsa

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file parses TimeStampResp, the CMS SignedData of a TimeStampToken
// and its TSTInfo with cryptobyte. digitorus/timestamp.Parse cannot be
// used: it decodes the policy with encoding/asn1, which rejects OID arcs
// above 2^31 and so every 2.25 (UUID) policy, DXL's included.

// signedToken is a TimeStampToken taken apart, nothing verified yet.
type signedToken struct {
	der   []byte
	certs []*x509.Certificate

	eContentType []byte // OID content
	eContent     []byte // DER TSTInfo

	// The single SignerInfo.
	sidIssuer   []byte // issuerAndSerialNumber form
	sidSerial   *big.Int
	sidSKI      []byte // subjectKeyIdentifier form
	digestOID   []byte
	signedAttrs []byte // the [0] IMPLICIT element as received
	sigOID      []byte
	signature   []byte
	attrs       map[string][]byte // attribute OID -> its single value element

	tst tstInfo
}

type tstInfo struct {
	policy        x509.OID
	hashOID       []byte
	hashedMessage []byte
	serial        *big.Int
	genTime       time.Time
	accuracy      time.Duration
	ordering      bool
	nonce         *big.Int
	tsaName       []byte // directoryName Name element, if the tsa field has one
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

var (
	tagExplicit0 = casn1.Tag(0).ContextSpecific().Constructed()
	tagExplicit1 = casn1.Tag(1).ContextSpecific().Constructed()
	tagImplicit0 = casn1.Tag(0).ContextSpecific()
	tagImplicit1 = casn1.Tag(1).ContextSpecific()
	tagDirName   = casn1.Tag(4).ContextSpecific().Constructed()
)

// splitResponse returns the TimeStampToken from a DER TimeStampResp, or
// der itself when it is already a bare token (a ContentInfo). A status
// other than granted or grantedWithMods yields a *RejectionError.
func splitResponse(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("not a DER TimeStampResp or TimeStampToken")
	}
	if seq.PeekASN1Tag(casn1.OBJECT_IDENTIFIER) {
		return der, nil // ContentInfo: a bare token
	}
	var status cryptobyte.String
	var st int64
	if !seq.ReadASN1(&status, casn1.SEQUENCE) || !status.ReadASN1Integer(&st) {
		return nil, malformed("bad PKIStatusInfo")
	}
	rej := &RejectionError{Status: int(st), Failure: timestamp.UnknownFailureInfo}
	if status.PeekASN1Tag(casn1.SEQUENCE) {
		var text cryptobyte.String
		if !status.ReadASN1(&text, casn1.SEQUENCE) {
			return nil, malformed("bad statusString")
		}
		for !text.Empty() {
			var s cryptobyte.String
			if !text.ReadASN1(&s, casn1.UTF8String) {
				return nil, malformed("bad statusString")
			}
			rej.Text = append(rej.Text, string(s))
		}
	}
	if status.PeekASN1Tag(casn1.BIT_STRING) {
		var bits asn1.BitString
		if !status.ReadASN1BitString(&bits) {
			return nil, malformed("bad failInfo")
		}
		for _, fi := range []timestamp.FailureInfo{timestamp.BadAlgorithm, timestamp.BadRequest,
			timestamp.BadDataFormat, timestamp.TimeNotAvailable, timestamp.UnacceptedPolicy,
			timestamp.UnacceptedExtension, timestamp.AddInfoNotAvailable, timestamp.SystemFailure} {
			if bits.At(int(fi)) == 1 {
				rej.Failure = fi
				break
			}
		}
	}
	if !status.Empty() {
		return nil, malformed("bad PKIStatusInfo")
	}
	if st != int64(timestamp.Granted) && st != int64(timestamp.GrantedWithMods) {
		return nil, rej
	}
	var tok cryptobyte.String
	if !seq.ReadASN1Element(&tok, casn1.SEQUENCE) || !seq.Empty() {
		return nil, malformed("granted response without a token")
	}
	return tok, nil
}

// parseToken takes a DER TimeStampToken apart (RFC 5652 SignedData with
// one SignerInfo, eContent a TSTInfo).
func parseToken(der []byte) (*signedToken, error) {
	t := &signedToken{der: der, attrs: make(map[string][]byte)}
	in := cryptobyte.String(der)
	var ci, ctype, explicit, sd cryptobyte.String
	if !in.ReadASN1(&ci, casn1.SEQUENCE) || !in.Empty() ||
		!ci.ReadASN1(&ctype, casn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, tagExplicit0) || !ci.Empty() ||
		!explicit.ReadASN1(&sd, casn1.SEQUENCE) || !explicit.Empty() {
		return nil, malformed("not a CMS ContentInfo")
	}
	if string(ctype) != string(oidSignedData) {
		return nil, malformed("content type %s is not signedData", oidString(ctype))
	}
	var version int64
	var digestAlgs, encap, eType cryptobyte.String
	if !sd.ReadASN1Integer(&version) || !sd.ReadASN1(&digestAlgs, casn1.SET) ||
		!sd.ReadASN1(&encap, casn1.SEQUENCE) || !encap.ReadASN1(&eType, casn1.OBJECT_IDENTIFIER) {
		return nil, malformed("bad SignedData")
	}
	t.eContentType = eType
	var eExplicit, eContent cryptobyte.String
	if !encap.ReadASN1(&eExplicit, tagExplicit0) || !eExplicit.ReadASN1(&eContent, casn1.OCTET_STRING) ||
		!eExplicit.Empty() || !encap.Empty() {
		return nil, malformed("SignedData without encapsulated content")
	}
	t.eContent = eContent
	if sd.PeekASN1Tag(tagExplicit0) { // certificates [0] IMPLICIT CertificateSet
		var certs cryptobyte.String
		sd.ReadASN1(&certs, tagExplicit0)
		for !certs.Empty() {
			var elem cryptobyte.String
			var tag casn1.Tag
			if !certs.ReadAnyASN1Element(&elem, &tag) {
				return nil, malformed("bad certificate set")
			}
			if tag != casn1.SEQUENCE {
				continue // attribute or other certificate formats
			}
			c, err := x509.ParseCertificate(elem)
			if err != nil {
				return nil, malformed("certificate in token: %v", err)
			}
			t.certs = append(t.certs, c)
		}
	}
	if sd.PeekASN1Tag(tagExplicit1) { // crls [1] IMPLICIT
		sd.SkipASN1(tagExplicit1)
	}
	var signers, si cryptobyte.String
	if !sd.ReadASN1(&signers, casn1.SET) || !sd.Empty() {
		return nil, malformed("bad SignedData")
	}
	if !signers.ReadASN1(&si, casn1.SEQUENCE) || !signers.Empty() {
		return nil, malformed("token must have exactly one SignerInfo")
	}
	if err := t.parseSignerInfo(si); err != nil {
		return nil, err
	}
	if string(t.eContentType) != string(oidTSTInfo) {
		return nil, malformed("encapsulated content %s is not id-ct-TSTInfo", oidString(t.eContentType))
	}
	var err error
	if t.tst, err = parseTSTInfo(t.eContent); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *signedToken) parseSignerInfo(si cryptobyte.String) error {
	var version int64
	if !si.ReadASN1Integer(&version) {
		return malformed("bad SignerInfo version")
	}
	switch {
	case si.PeekASN1Tag(casn1.SEQUENCE):
		var ias, issuer cryptobyte.String
		t.sidSerial = new(big.Int)
		if !si.ReadASN1(&ias, casn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, casn1.SEQUENCE) ||
			!ias.ReadASN1Integer(t.sidSerial) || !ias.Empty() {
			return malformed("bad issuerAndSerialNumber")
		}
		t.sidIssuer = issuer
	case si.PeekASN1Tag(tagImplicit0):
		if !si.ReadASN1((*cryptobyte.String)(&t.sidSKI), tagImplicit0) {
			return malformed("bad subjectKeyIdentifier")
		}
	default:
		return malformed("bad SignerIdentifier")
	}
	var ok bool
	if t.digestOID, _, ok = readAlgID(&si); !ok {
		return malformed("bad digestAlgorithm")
	}
	var elem, attrs cryptobyte.String
	if !si.ReadASN1Element(&elem, tagExplicit0) {
		return malformed("SignerInfo without signed attributes")
	}
	t.signedAttrs = elem
	elem.ReadASN1(&attrs, tagExplicit0)
	for !attrs.Empty() {
		var attr, typ, values, value cryptobyte.String
		if !attrs.ReadASN1(&attr, casn1.SEQUENCE) || !attr.ReadASN1(&typ, casn1.OBJECT_IDENTIFIER) ||
			!attr.ReadASN1(&values, casn1.SET) || !attr.Empty() {
			return malformed("bad signed attribute")
		}
		var tag casn1.Tag
		if !values.ReadAnyASN1Element(&value, &tag) {
			return malformed("signed attribute %s without value", oidString(typ))
		}
		key := string(typ)
		switch key {
		case string(oidAttrContentType), string(oidAttrMsgDigest), string(oidAttrSigningCert), string(oidAttrSigningCert2):
			if _, dup := t.attrs[key]; dup || !values.Empty() {
				return malformed("signed attribute %s must have exactly one value", oidString(typ))
			}
		}
		t.attrs[key] = value
	}
	if t.sigOID, _, ok = readAlgID(&si); !ok ||
		!si.ReadASN1((*cryptobyte.String)(&t.signature), casn1.OCTET_STRING) {
		return malformed("bad signature")
	}
	if si.PeekASN1Tag(tagExplicit1) {
		si.SkipASN1(tagExplicit1) // unsigned attributes
	}
	if !si.Empty() {
		return malformed("trailing data in SignerInfo")
	}
	return nil
}

// parseTSTInfo decodes
//
//	TSTInfo ::= SEQUENCE {
//	   version        INTEGER { v1(1) },
//	   policy         TSAPolicyId,
//	   messageImprint MessageImprint,
//	   serialNumber   INTEGER,
//	   genTime        GeneralizedTime,
//	   accuracy       Accuracy                 OPTIONAL,
//	   ordering       BOOLEAN             DEFAULT FALSE,
//	   nonce          INTEGER                  OPTIONAL,
//	   tsa            [0] GeneralName          OPTIONAL,
//	   extensions     [1] IMPLICIT Extensions  OPTIONAL }
func parseTSTInfo(der []byte) (tstInfo, error) {
	var ti tstInfo
	in := cryptobyte.String(der)
	var seq, policy, mi, gen cryptobyte.String
	var version int64
	ti.serial = new(big.Int)
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&version) || version != 1 ||
		!seq.ReadASN1(&policy, casn1.OBJECT_IDENTIFIER) ||
		!seq.ReadASN1(&mi, casn1.SEQUENCE) {
		return ti, malformed("bad TSTInfo")
	}
	var ok bool
	if ti.policy, ok = oidFromDER(policy); !ok {
		return ti, malformed("bad TSTInfo policy")
	}
	if ti.hashOID, _, ok = readAlgID(&mi); !ok ||
		!mi.ReadASN1((*cryptobyte.String)(&ti.hashedMessage), casn1.OCTET_STRING) || !mi.Empty() {
		return ti, malformed("bad TSTInfo messageImprint")
	}
	if !seq.ReadASN1Integer(ti.serial) || !seq.ReadASN1(&gen, casn1.GeneralizedTime) {
		return ti, malformed("bad TSTInfo serialNumber or genTime")
	}
	var err error
	if ti.genTime, err = parseGeneralizedTime(string(gen)); err != nil {
		return ti, err
	}
	if seq.PeekASN1Tag(casn1.SEQUENCE) {
		var acc cryptobyte.String
		var sec, ms, us int64
		if !seq.ReadASN1(&acc, casn1.SEQUENCE) ||
			(acc.PeekASN1Tag(casn1.INTEGER) && !acc.ReadASN1Integer(&sec)) ||
			(acc.PeekASN1Tag(tagImplicit0) && !acc.ReadASN1Int64WithTag(&ms, tagImplicit0)) ||
			(acc.PeekASN1Tag(tagImplicit1) && !acc.ReadASN1Int64WithTag(&us, tagImplicit1)) ||
			!acc.Empty() || sec < 0 || sec > 1<<30 || ms < 0 || ms > 999 || us < 0 || us > 999 {
			return ti, malformed("bad TSTInfo accuracy")
		}
		ti.accuracy = time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond + time.Duration(us)*time.Microsecond
	}
	if seq.PeekASN1Tag(casn1.BOOLEAN) && !seq.ReadASN1Boolean(&ti.ordering) {
		return ti, malformed("bad TSTInfo ordering")
	}
	if seq.PeekASN1Tag(casn1.INTEGER) {
		ti.nonce = new(big.Int)
		if !seq.ReadASN1Integer(ti.nonce) {
			return ti, malformed("bad TSTInfo nonce")
		}
	}
	if seq.PeekASN1Tag(tagExplicit0) {
		var gn cryptobyte.String
		if !seq.ReadASN1(&gn, tagExplicit0) {
			return ti, malformed("bad TSTInfo tsa")
		}
		if gn.PeekASN1Tag(tagDirName) {
			var name cryptobyte.String
			if !gn.ReadASN1(&name, tagDirName) || !name.ReadASN1Element((*cryptobyte.String)(&ti.tsaName), casn1.SEQUENCE) {
				return ti, malformed("bad TSTInfo tsa")
			}
		}
	}
	if seq.PeekASN1Tag(tagExplicit1) {
		var exts cryptobyte.String
		if !seq.ReadASN1(&exts, tagExplicit1) {
			return ti, malformed("bad TSTInfo extensions")
		}
		for !exts.Empty() {
			var ext, id cryptobyte.String
			critical := false
			if !exts.ReadASN1(&ext, casn1.SEQUENCE) || !ext.ReadASN1(&id, casn1.OBJECT_IDENTIFIER) ||
				(ext.PeekASN1Tag(casn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical)) ||
				!ext.SkipASN1(casn1.OCTET_STRING) || !ext.Empty() {
				return ti, malformed("bad TSTInfo extension")
			}
			if critical {
				return ti, malformed("unsupported critical TSTInfo extension %s", oidString(id))
			}
		}
	}
	if !seq.Empty() {
		return ti, malformed("trailing data in TSTInfo")
	}
	return ti, nil
}

// parseGeneralizedTime accepts YYYYMMDDHHMMSS[.f+]Z, the UTC form RFC 3161
// requires.
func parseGeneralizedTime(s string) (time.Time, error) {
	if len(s) < 15 || s[len(s)-1] != 'Z' {
		return time.Time{}, malformed("genTime %q is not UTC GeneralizedTime", s)
	}
	t, err := time.Parse("20060102150405Z", s) // fractional seconds are accepted when parsing
	if err != nil {
		return time.Time{}, malformed("genTime %q: %v", s, err)
	}
	return t, nil
}

// nameString renders a DER Name for people.
func nameString(der []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) > 0 {
		return ""
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

// digestHash maps a CMS digestAlgorithm OID to a hash; SHA-1 is refused.
func digestHash(oid []byte) crypto.Hash { return supportedHash(oid) }
