package consumer

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"net/http"

	"github.com/dxl-network/dxl/node/envelope"
)

// Headers that expose the provider member's signature of an answer to
// the information system (R-X5; docs/integration.md, "X-Signature").
const (
	// HeaderXSignature is the signature, standard base64: Ed25519
	// (RFC 8032) of the signed part, or ASN.1 DER ECDSA P-256 over its
	// SHA-256.
	HeaderXSignature = "X-Signature"
	// HeaderXSignatureAlgorithm is "Ed25519" or "ECDSA-P256-SHA256".
	HeaderXSignatureAlgorithm = "X-Signature-Algorithm"
	// HeaderXSignatureSigned is the bytes signed, standard base64: the
	// response envelope's signed part (node/envelope: prefix, version,
	// SHA-256 of the certificate at 22..54, request ID at 54..70, status
	// at 102..104, the body's SHA-256 at 112..144, …).
	HeaderXSignatureSigned = "X-Signature-Signed"
	// HeaderXSignatureCert is the provider member's signing certificate,
	// standard base64 of its DER.
	HeaderXSignatureCert = "X-Signature-Certificate"
)

// needsXSignature reports whether an answer carries X-Signature: writes
// (POST, PUT, PATCH, DELETE) and Secret-level data or above (000 App.II
// §II.3), by the service's classification in the catalogue. A Secret
// answer's is the provider's inner response, over the body in clear.
func needsXSignature(method, classification string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return classification == "secret" || classification == "top_secret"
}

// setXSignature exposes the provider's signature of resp in h.
func setXSignature(h http.Header, resp *envelope.SignedResponse) {
	alg := "Ed25519"
	if cert, err := x509.ParseCertificate(resp.CertDER); err == nil {
		switch cert.PublicKey.(type) {
		case ed25519.PublicKey:
		case *ecdsa.PublicKey:
			alg = "ECDSA-P256-SHA256"
		default:
			return // the envelope's verification admits no other key
		}
	}
	h.Set(HeaderXSignature, base64.StdEncoding.EncodeToString(resp.Signature))
	h.Set(HeaderXSignatureAlgorithm, alg)
	h.Set(HeaderXSignatureSigned, base64.StdEncoding.EncodeToString(resp.Signed))
	h.Set(HeaderXSignatureCert, base64.StdEncoding.EncodeToString(resp.CertDER))
}
