package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net"
	"strings"
	"time"

	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.step.sm/crypto/x509util"
)

// Profile names a certificate profile.
type Profile string

// The certificate profiles. docs/pki.md describes each.
const (
	// ProfileNodeAuth binds a node's libp2p peer ID (derived from the
	// certified key) to its member; serverAuth + clientAuth.
	ProfileNodeAuth Profile = "node-auth"
	// ProfileMemberSign certifies a member's message-signing key;
	// digitalSignature + contentCommitment (non-repudiation).
	ProfileMemberSign Profile = "member-sign"
	// ProfileTSA certifies a time-stamping authority; the only extended key
	// usage is timeStamping and it is critical (RFC 3161 §2.3).
	ProfileTSA Profile = "tsa"
	// ProfileRegistryConfig certifies the registry key that signs the global
	// configuration. Nodes trust it because the anchor names it, not because
	// of a key purpose, so it carries digitalSignature only.
	ProfileRegistryConfig Profile = "registry-config"
	// ProfileRegistryServer certifies a registry server's TLS key (HTTPS
	// API, forwarding between servers, Raft): serverAuth + clientAuth, CN =
	// the server's Raft ID, member = the operator, the DNS names and IP
	// addresses of the request as SANs, and a URIRegistryServerPrefix URI
	// SAN by which registry servers recognise each other (a node-auth
	// certificate, also serverAuth + clientAuth, carries none).
	ProfileRegistryServer Profile = "registry-server"
)

// Profiles lists every profile in a stable order.
var Profiles = []Profile{ProfileNodeAuth, ProfileMemberSign, ProfileTSA, ProfileRegistryConfig, ProfileRegistryServer}

var (
	oidKPTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
)

// URI prefixes of the subject alternative names DXL puts in certificates.
const (
	URIMemberPrefix = "urn:dxl:member:"
	URIPeerPrefix   = "urn:dxl:peer:"
	// URIRegistryServerPrefix + the server ID is the URI SAN of a
	// registry-server certificate.
	URIRegistryServerPrefix = "urn:dxl:registry-server:"
)

type profileSpec struct {
	template    string
	validity    time.Duration
	needsMember bool
	defaultCN   string
}

const leafHead = `{
	"subject": {{ toJson .Subject }},
	"uris": {{ toJson .URIs }},
{{- if .DNSNames }}
	"dnsNames": {{ toJson .DNSNames }},
{{- end }}
{{- if .IPAddresses }}
	"ipAddresses": {{ toJson .IPAddresses }},
{{- end }}
	"basicConstraints": {"isCA": false},
{{- if .OCSP }}
	"ocspServer": {{ toJson .OCSP }},
	"crlDistributionPoints": {{ toJson .CRL }},
{{- end }}`

var profiles = map[Profile]profileSpec{
	ProfileNodeAuth: {validity: 2 * 365 * day, needsMember: true, template: leafHead + `
{{- if typeIs "*rsa.PublicKey" .Insecure.CR.PublicKey }}
	"keyUsage": ["digitalSignature", "keyEncipherment"],
{{- else }}
	"keyUsage": ["digitalSignature"],
{{- end }}
	"extKeyUsage": ["serverAuth", "clientAuth"]
}`},
	ProfileMemberSign: {validity: 2 * 365 * day, needsMember: true, template: leafHead + `
	"keyUsage": ["digitalSignature", "contentCommitment"]
}`},
	ProfileTSA: {validity: 5 * 365 * day, defaultCN: "DXL Time-Stamping Authority", template: leafHead + `
	"keyUsage": ["digitalSignature", "contentCommitment"],
	"extensions": [{"id": "2.5.29.37", "critical": true, "value": {{ toJson .TimeStampingEKU }}}]
}`},
	ProfileRegistryConfig: {validity: 5 * 365 * day, defaultCN: "DXL Registry Configuration Signer", template: leafHead + `
	"keyUsage": ["digitalSignature"]
}`},
	ProfileRegistryServer: {validity: 2 * 365 * day, template: leafHead + `
{{- if typeIs "*rsa.PublicKey" .Insecure.CR.PublicKey }}
	"keyUsage": ["digitalSignature", "keyEncipherment"],
{{- else }}
	"keyUsage": ["digitalSignature"],
{{- end }}
	"extKeyUsage": ["serverAuth", "clientAuth"]
}`},
}

const caTemplate = `{
	"subject": {{ toJson .Subject }},
	"keyUsage": ["certSign", "crlSign"],
	"basicConstraints": {"isCA": true, "maxPathLen": {{ .MaxPathLen }}}
}`

// ParseProfile returns the profile named s.
func ParseProfile(s string) (Profile, error) {
	if _, ok := profiles[Profile(s)]; !ok {
		return "", fmt.Errorf("%w: %q (known: node-auth, member-sign, tsa, registry-config, registry-server)", ErrUnknownProfile, s)
	}
	return Profile(s), nil
}

// PeerIDFromKey derives the libp2p peer ID of a public key, the identity a
// node-auth certificate binds.
func PeerIDFromKey(pub crypto.PublicKey) (peer.ID, error) {
	var (
		pk  p2pcrypto.PubKey
		err error
	)
	switch k := pub.(type) {
	case ed25519.PublicKey:
		pk, err = p2pcrypto.UnmarshalEd25519PublicKey(k)
	case *ecdsa.PublicKey, *rsa.PublicKey:
		var der []byte
		if der, err = x509.MarshalPKIXPublicKey(k); err == nil {
			if _, isRSA := k.(*rsa.PublicKey); isRSA {
				pk, err = p2pcrypto.UnmarshalRsaPublicKey(der)
			} else {
				pk, err = p2pcrypto.UnmarshalECDSAPublicKey(der)
			}
		}
	default:
		return "", fmt.Errorf("%w: %T has no libp2p peer ID", ErrUnsupportedKey, pub)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	return peer.IDFromPublicKey(pk)
}

func mustDER(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var timeStampingEKU = mustDER([]asn1.ObjectIdentifier{oidKPTimeStamping})

// renderTemplate applies an x509util template to csr. ParseCSR has already
// checked the request's self-signature, so the template is applied to the
// request's key and subject without x509util checking it a second time.
func renderTemplate(csr *x509.CertificateRequest, text string, data x509util.TemplateData) (*x509.Certificate, error) {
	cert, err := x509util.NewCertificateFromX509(&x509.Certificate{
		PublicKey: csr.PublicKey, PublicKeyAlgorithm: csr.PublicKeyAlgorithm, Subject: csr.Subject,
	}, x509util.WithTemplate(text, data))
	if err != nil {
		return nil, fmt.Errorf("ca: render profile: %w", err)
	}
	return cert.GetCertificate(), nil
}

// IsRegistryServer reports whether cert is a registry-server certificate
// and returns the server ID it names. It looks at the URI SAN only; the
// caller verifies the chain.
func IsRegistryServer(cert *x509.Certificate) (id string, ok bool) {
	if cert == nil {
		return "", false
	}
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, URIRegistryServerPrefix) {
			return strings.TrimPrefix(s, URIRegistryServerPrefix), true
		}
	}
	return "", false
}

// maxSANs caps the DNS names plus IP addresses of one request.
const maxSANs = 16

// checkSANs validates the DNS names and IP addresses of a registry-server
// request: lower-case host names (letters, digits, hyphens; labels of 1–63
// characters, no leading or trailing hyphen; 253 characters at most; a
// leading "*." is refused) and specific (not unspecified, not multicast)
// addresses.
func checkSANs(dns []string, ips []net.IP) error {
	if len(dns)+len(ips) > maxSANs {
		return fmt.Errorf("%w: at most %d DNS names and IP addresses", ErrBadRequest, maxSANs)
	}
	for _, d := range dns {
		if len(d) == 0 || len(d) > 253 {
			return fmt.Errorf("%w: DNS name %q: 1..253 characters", ErrBadRequest, d)
		}
		for _, label := range strings.Split(d, ".") {
			if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
				strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
				return fmt.Errorf("%w: DNS name %q: want lower-case letters, digits and hyphens in dot-separated labels", ErrBadRequest, d)
			}
		}
	}
	for _, ip := range ips {
		if ip == nil || (ip.To4() == nil && len(ip) != net.IPv6len) || ip.IsUnspecified() || ip.IsMulticast() {
			return fmt.Errorf("%w: IP address %v is not a specific unicast address", ErrBadRequest, ip)
		}
	}
	return nil
}
