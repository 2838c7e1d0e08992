package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// ClientTLSConfig is the TLS configuration a registry server forwards with:
// it presents cert and trusts roots. The peer's host name is not checked
// (servers are reached by the URL the state records, and identified by
// chaining to the network CA with serverAuth).
func ClientTLSConfig(cert tls.Certificate, roots *x509.CertPool) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots,
		InsecureSkipVerify: true}
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("registry server sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, ic := range cs.PeerCertificates[1:] {
			inter.AddCert(ic)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return err
	}
	return c
}
