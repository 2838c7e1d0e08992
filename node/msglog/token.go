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
	if err := strictDER(token, 0); err != nil {
		return err
	}
	ci, sd, err := parseSignedData(token)
	if err != nil {
		return err
	}
	if len(sd.CRLs.FullBytes) > 0 {
		return tokenBad("carries CRLs")
	}
	info, err := parseSignerInfo(sd)
	if err != nil {
		return err
	}
	if err := checkSequenceFields(sd, info); err != nil {
		return err
	}
	if err := checkEncapContent(ci, sd); err != nil {
		return err
	}
	if err := checkSignedDataSets(sd); err != nil {
		return err
	}
	if err := checkSignedAttrs(info.SignedAttrs.Bytes); err != nil {
		return err
	}
	if len(info.Unsigned.FullBytes) > 0 {
		return tokenBad("carries unsigned attributes")
	}
	if sd.DigestAlgs.Tag != asn1.TagSet || !bytes.Equal(sd.DigestAlgs.Bytes, info.DigestAlg.FullBytes) {
		return tokenBad("digestAlgorithms is not exactly the signer's digest algorithm")
	}
	return nil
}

// tokenBad is the ErrTamper error for a token whose structure is not the
// pinned one.
func tokenBad(what string) error { return fmt.Errorf("%w: token %s", ErrTamper, what) }

// tokenContentInfo is a CMS ContentInfo; the EncapsulatedContentInfo
// inside SignedData has the same shape.
type tokenContentInfo struct {
	Type    asn1.ObjectIdentifier
	Content asn1.RawValue `asn1:"explicit,tag:0"`
}

// tokenSignedData is a CMS SignedData with its fields left raw.
type tokenSignedData struct {
	Version      int
	DigestAlgs   asn1.RawValue
	EncapContent asn1.RawValue
	Certificates asn1.RawValue `asn1:"optional,tag:0"`
	CRLs         asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos  asn1.RawValue
}

// tokenSignerInfo is a CMS SignerInfo with its fields left raw.
type tokenSignerInfo struct {
	Version     int
	SID         asn1.RawValue
	DigestAlg   asn1.RawValue
	SignedAttrs asn1.RawValue `asn1:"optional,tag:0"`
	SigAlg      asn1.RawValue
	Signature   []byte
	Unsigned    asn1.RawValue `asn1:"optional,tag:1"`
}

// parseSignedData reads the ContentInfo (DER, constructed content) and the
// SignedData inside it (DER, version 3).
func parseSignedData(token []byte) (tokenContentInfo, tokenSignedData, error) {
	var ci tokenContentInfo
	var sd tokenSignedData
	if rest, err := asn1.Unmarshal(token, &ci); err != nil || len(rest) > 0 || !ci.Content.IsCompound {
		return ci, sd, tokenBad("ContentInfo is not DER")
	}
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) > 0 || sd.Version != 3 {
		return ci, sd, tokenBad("SignedData is not DER version 3")
	}
	return ci, sd, nil
}

// parseSignerInfo reads the one SignerInfo of the signerInfos SET (DER,
// version 1).
func parseSignerInfo(sd tokenSignedData) (tokenSignerInfo, error) {
	var si asn1.RawValue
	var info tokenSignerInfo
	if rest, err := asn1.Unmarshal(sd.SignerInfos.Bytes, &si); err != nil || len(rest) > 0 || sd.SignerInfos.Tag != asn1.TagSet {
		return info, tokenBad("must have exactly one SignerInfo")
	}
	if rest, err := asn1.Unmarshal(si.FullBytes, &info); err != nil || len(rest) > 0 || info.Version != 1 {
		return info, tokenBad("SignerInfo is not DER version 1")
	}
	return info, nil
}

// checkSequenceFields requires encapContentInfo, sid, digestAlgorithm and
// signatureAlgorithm to be universal constructed SEQUENCEs.
func checkSequenceFields(sd tokenSignedData, info tokenSignerInfo) error {
	for _, rv := range []asn1.RawValue{sd.EncapContent, info.SID, info.DigestAlg, info.SigAlg} {
		if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence || !rv.IsCompound {
			return tokenBad("has a field that is not a SEQUENCE")
		}
	}
	return nil
}

// checkEncapContent requires content types id-signedData / id-ct-TSTInfo
// and an eContent of one primitive OCTET STRING.
func checkEncapContent(ci tokenContentInfo, sd tokenSignedData) error {
	var encap tokenContentInfo
	if rest, err := asn1.Unmarshal(sd.EncapContent.FullBytes, &encap); err != nil || len(rest) > 0 ||
		!encap.Type.Equal(oidTSTInfo) || !ci.Type.Equal(oidSignedData) {
		return tokenBad("content types are not id-signedData / id-ct-TSTInfo")
	}
	// With explicit tagging a RawValue holds the [0] wrapper: the
	// eContent inside must be one primitive OCTET STRING.
	var octets asn1.RawValue
	if rest, err := asn1.Unmarshal(encap.Content.Bytes, &octets); err != nil || len(rest) > 0 || !encap.Content.IsCompound ||
		octets.Class != asn1.ClassUniversal || octets.Tag != asn1.TagOctetString || octets.IsCompound {
		return tokenBad("eContent is not one OCTET STRING")
	}
	return nil
}

// checkSignedDataSets requires a well-formed certificates field, if any,
// and constructed universal digestAlgorithms and signerInfos.
func checkSignedDataSets(sd tokenSignedData) error {
	if len(sd.Certificates.FullBytes) > 0 && (sd.Certificates.Class != asn1.ClassContextSpecific || !sd.Certificates.IsCompound) {
		return tokenBad("certificates field malformed")
	}
	if !sd.DigestAlgs.IsCompound || sd.DigestAlgs.Class != asn1.ClassUniversal || !sd.SignerInfos.IsCompound || sd.SignerInfos.Class != asn1.ClassUniversal {
		return tokenBad("has a malformed SET")
	}
	return nil
}

// checkSignedAttrs requires every signed attribute to be a SEQUENCE whose
// values are a SET: pkcs7 verifies the signature over its own re-encoding
// of the signed attributes, so their tags must already be the DER ones.
func checkSignedAttrs(attrs []byte) error {
	for rest := attrs; len(rest) > 0; {
		var attr struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil || raw.Class != asn1.ClassUniversal || raw.Tag != asn1.TagSequence || !raw.IsCompound {
			return tokenBad("signed attribute is not a SEQUENCE")
		}
		if r, err := asn1.Unmarshal(raw.FullBytes, &attr); err != nil || len(r) > 0 ||
			attr.Values.Class != asn1.ClassUniversal || attr.Values.Tag != asn1.TagSet || !attr.Values.IsCompound {
			return tokenBad("signed attribute values are not a SET")
		}
	}
	return nil
}

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)

// strictDER walks every TLV of b and requires DER framing throughout:
// definite, minimal lengths, and constructed contents filled exactly by
// their children. A token re-encoded by a lenient parser (pkcs7 verifies
// its own re-encoding of the signed attributes) could otherwise carry
// changed bytes that still verify.
func strictDER(b []byte, depth int) error {
	if depth > 32 {
		return fmt.Errorf("%w: token nested too deeply", ErrTamper)
	}
	for len(b) > 0 {
		if len(b) < 2 {
			return fmt.Errorf("%w: token TLV truncated", ErrTamper)
		}
		id := b[0]
		i := 1
		if id&0x1f == 0x1f { // high tag number form
			for {
				if i >= len(b) {
					return fmt.Errorf("%w: token tag truncated", ErrTamper)
				}
				c := b[i]
				i++
				if c&0x80 == 0 {
					break
				}
			}
		}
		if i >= len(b) {
			return fmt.Errorf("%w: token length missing", ErrTamper)
		}
		l := int(b[i])
		i++
		if l&0x80 != 0 {
			k := l & 0x7f
			if k == 0 || k > 4 || i+k > len(b) || b[i] == 0 {
				return fmt.Errorf("%w: token length not DER", ErrTamper)
			}
			l = 0
			for _, c := range b[i : i+k] {
				l = l<<8 | int(c)
			}
			i += k
			if l < 0x80 || (k > 1 && l < 1<<(8*(k-1))) {
				return fmt.Errorf("%w: token length not minimal", ErrTamper)
			}
		}
		if l > len(b)-i {
			return fmt.Errorf("%w: token TLV overruns its container", ErrTamper)
		}
		if id&0x20 != 0 { // constructed
			if err := strictDER(b[i:i+l], depth+1); err != nil {
				return err
			}
		}
		b = b[i+l:]
	}
	return nil
}
