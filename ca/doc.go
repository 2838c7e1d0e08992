// Package ca is DXL's built-in certificate authority.
//
// A CA directory holds a root and an intermediate certificate, their private
// keys sealed with internal/keystore, a bbolt certificate database and the
// CA's settings (ca.json). The intermediate signs every end-entity
// certificate, every CRL and every OCSP response; the root key is needed only
// to create the intermediate and may be moved offline after Init.
//
// Certificates are issued from PKCS#10 requests under one of four profiles
// (ProfileNodeAuth, ProfileMemberSign, ProfileTSA, ProfileRegistryConfig).
// Each profile is a go.step.sm/crypto x509util template; the CA, not the
// request, decides the subject and the subject alternative names.
//
// Only one process may hold the database (bbolt takes an exclusive lock).
// Serve therefore also listens on a Unix socket in the directory (ca.sock,
// mode 0600) with a JSON admin API, and Connect hands the CLI either the CA
// itself or a Client of that socket, so `dxl ca issue` and `dxl ca revoke` keep
// working while `dxl ca serve` runs, and a revocation shows in OCSP at once.
package ca
