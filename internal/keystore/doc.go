// Package keystore keeps private keys encrypted at rest.
//
// A key is stored as a PEM block of type "DXL ENCRYPTED PRIVATE KEY" whose
// body is the PKCS#8 DER of the key sealed with AES-256-GCM. The AES key is
// derived from a passphrase with scrypt; the KDF parameters, salt and nonce
// travel in the PEM headers and are bound to the ciphertext as additional
// authenticated data, so neither the parameters nor the body can be changed
// without the open failing with ErrDecrypt.
package keystore
