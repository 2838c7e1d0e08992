package msglog

import (
	"bytes"
	"encoding/asn1"
	"fmt"
)

// checkTokenStructure pins the parts of a TimeStampToken (CMS
// SignedData, RFC 5652) that its signature does not cover and that
// verification would otherwise ignore: SignedData version 3, a
// digestAlgorithms set holding exactly the signer's digest algorithm, no
// CRLs, one SignerInfo of version 1 without unsigned attributes, and DER
// lengths throughout (encoding/asn1). The certificates field is checked
// by VerifyBundle (every certificate on the verified path).
func checkTokenStructure(token []byte) error {
	bad := func(what string) error { return fmt.Errorf("%w: token %s", ErrTamper, what) }
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(token, &ci); err != nil || len(rest) > 0 || !ci.Content.IsCompound {
		return bad("ContentInfo is not DER")
	}
	var sd struct {
		Version      int
		DigestAlgs   asn1.RawValue
		EncapContent asn1.RawValue
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		CRLs         asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos  asn1.RawValue
	}
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 || sd.Version != 3 {
		return bad("SignedData is not DER version 3")
	}
	if len(sd.CRLs.FullBytes) > 0 {
		return bad("carries CRLs")
	}
	var si asn1.RawValue
	if rest, err := asn1.Unmarshal(sd.SignerInfos.Bytes, &si); err != nil || len(rest) > 0 || sd.SignerInfos.Tag != asn1.TagSet {
		return bad("must have exactly one SignerInfo")
	}
	var info struct {
		Version     int
		SID         asn1.RawValue
		DigestAlg   asn1.RawValue
		SignedAttrs asn1.RawValue `asn1:"optional,tag:0"`
		SigAlg      asn1.RawValue
		Signature   []byte
		Unsigned    asn1.RawValue `asn1:"optional,tag:1"`
	}
	if rest, err := asn1.Unmarshal(si.FullBytes, &info); err != nil || len(rest) > 0 || info.Version != 1 {
		return bad("SignerInfo is not DER version 1")
	}
	for _, rv := range []asn1.RawValue{sd.EncapContent, info.SID, info.DigestAlg, info.SigAlg} {
		if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence || !rv.IsCompound {
			return bad("has a field that is not a SEQUENCE")
		}
	}
	var encap struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if rest, err := asn1.Unmarshal(sd.EncapContent.FullBytes, &encap); err != nil || len(rest) > 0 ||
		!encap.Type.Equal(oidTSTInfo) || !ci.Type.Equal(oidSignedData) {
		return bad("content types are not id-signedData / id-ct-TSTInfo")
	}
	// With explicit tagging a RawValue holds the [0] wrapper: the
	// eContent inside must be one primitive OCTET STRING.
	var octets asn1.RawValue
	if rest, err := asn1.Unmarshal(encap.Content.Bytes, &octets); err != nil || len(rest) > 0 || !encap.Content.IsCompound ||
		octets.Class != asn1.ClassUniversal || octets.Tag != asn1.TagOctetString || octets.IsCompound {
		return bad("eContent is not one OCTET STRING")
	}
	if len(sd.Certificates.FullBytes) > 0 && (sd.Certificates.Class != asn1.ClassContextSpecific || !sd.Certificates.IsCompound) {
		return bad("certificates field malformed")
	}
	if !sd.DigestAlgs.IsCompound || sd.DigestAlgs.Class != asn1.ClassUniversal || !sd.SignerInfos.IsCompound || sd.SignerInfos.Class != asn1.ClassUniversal {
		return bad("has a malformed SET")
	}
	// pkcs7 verifies the signature over its own re-encoding of the signed
	// attributes, so their tags must already be the DER ones.
	for rest := info.SignedAttrs.Bytes; len(rest) > 0; {
		var attr struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil || raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence || !raw.IsCompound {
			return bad("signed attribute is not a SEQUENCE")
		}
		if r, err := asn1.Unmarshal(raw.FullBytes, &attr); err != nil || len(r) > 0 ||
			attr.Values.Class != asn1.ClassUniversal || attr.Values.Tag != asn1.TagSet || !attr.Values.IsCompound {
			return bad("signed attribute values are not a SET")
		}
	}
	if len(info.Unsigned.FullBytes) > 0 {
		return bad("carries unsigned attributes")
	}
	if sd.DigestAlgs.Tag != asn1.TagSet || !bytes.Equal(sd.DigestAlgs.Bytes, info.DigestAlg.FullBytes) {
		return bad("digestAlgorithms is not exactly the signer's digest algorithm")
	}
	return nil
}

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)
