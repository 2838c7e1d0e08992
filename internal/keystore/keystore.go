package keystore

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/crypto/scrypt"

	"github.com/dxl-network/dxl/internal/fsutil"
)

// Sentinel errors returned by this package.
var (
	// ErrDecrypt means the passphrase is wrong or the key file was altered.
	ErrDecrypt = errors.New("keystore: wrong passphrase or damaged key file")
	// ErrFormat means the file is not a DXL encrypted key.
	ErrFormat = errors.New("keystore: not a DXL encrypted private key")
	// ErrEmptyPassphrase means no passphrase was supplied.
	ErrEmptyPassphrase = errors.New("keystore: empty passphrase")
)

// PEMType is the PEM block type of a sealed key.
const PEMType = "DXL ENCRYPTED PRIVATE KEY"

// scrypt cost parameters: N=2^15, r=8, p=1 takes about 100 ms and 32 MiB,
// the interactive-login setting recommended by the scrypt paper.
const (
	scryptN   = 1 << 15
	scryptR   = 8
	scryptP   = 1
	maxScrypt = 1 << 20 // refuse files asking for more work than this
)

// GenerateKey returns a new ECDSA P-256 key, DXL's default for every role.
func GenerateKey() (crypto.Signer, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// Seal encrypts key under passphrase and returns the PEM encoding.
func Seal(key crypto.Signer, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("keystore: marshal key: %w", err)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	block := &pem.Block{Type: PEMType, Headers: map[string]string{
		"KDF":  "scrypt",
		"N":    strconv.Itoa(scryptN),
		"R":    strconv.Itoa(scryptR),
		"P":    strconv.Itoa(scryptP),
		"Salt": base64.StdEncoding.EncodeToString(salt),
	}}
	aead, err := newAEAD(passphrase, salt, scryptN, scryptR, scryptP)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	block.Headers["Nonce"] = base64.StdEncoding.EncodeToString(nonce)
	block.Bytes = aead.Seal(nil, nonce, der, aad(block.Headers))
	return pem.EncodeToMemory(block), nil
}

// Open decrypts a PEM produced by Seal.
func Open(data, passphrase []byte) (crypto.Signer, error) {
	if len(passphrase) == 0 {
		return nil, ErrEmptyPassphrase
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != PEMType || block.Headers["KDF"] != "scrypt" {
		return nil, ErrFormat
	}
	n, err1 := strconv.Atoi(block.Headers["N"])
	r, err2 := strconv.Atoi(block.Headers["R"])
	p, err3 := strconv.Atoi(block.Headers["P"])
	salt, err4 := base64.StdEncoding.DecodeString(block.Headers["Salt"])
	nonce, err5 := base64.StdEncoding.DecodeString(block.Headers["Nonce"])
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, fmt.Errorf("%w: bad header: %v", ErrFormat, err)
	}
	if n < 2 || n > maxScrypt || r < 1 || r > 32 || p < 1 || p > 16 || len(salt) < 16 {
		return nil, fmt.Errorf("%w: unacceptable KDF parameters", ErrFormat)
	}
	aead, err := newAEAD(passphrase, salt, n, r, p)
	if err != nil {
		return nil, err
	}
	if len(nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: bad nonce", ErrFormat)
	}
	der, err := aead.Open(nil, nonce, block.Bytes, aad(block.Headers))
	if err != nil {
		return nil, ErrDecrypt
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: key type %T cannot sign", ErrFormat, key)
	}
	return signer, nil
}

// WriteFile seals key and writes it to path with mode 0600, refusing to
// overwrite an existing file.
func WriteFile(path string, key crypto.Signer, passphrase []byte) error {
	data, err := Seal(key, passphrase)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := fsutil.WriteNew(path, data, 0o600); err != nil {
		return fmt.Errorf("keystore: %w", err)
	}
	return nil
}

// ReadFile reads and opens a sealed key file.
func ReadFile(path string, passphrase []byte) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	key, err := Open(data, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

func newAEAD(passphrase, salt []byte, n, r, p int) (cipher.AEAD, error) {
	k, err := scrypt.Key(passphrase, salt, n, r, p, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// aad binds every header that steers decryption to the ciphertext.
func aad(h map[string]string) []byte {
	return []byte("dxl-keystore-v1|" + h["KDF"] + "|" + h["N"] + "|" + h["R"] + "|" + h["P"] + "|" + h["Salt"] + "|" + h["Nonce"])
}
