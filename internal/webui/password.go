package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password policy (R-K3: at least 8 characters with a lower-case and an
// upper-case letter, a digit and a special character; the consoles ask for
// 12, since an operator account admits agencies to the network).
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// CheckPassword enforces the password policy: MinPasswordLength to
// MaxPasswordLength characters of valid UTF-8 with at least one lower-case
// letter, one upper-case letter, one digit and one other (special)
// character, and not the account name. The error says what is missing.
func CheckPassword(account, pw string) error {
	if !utf8.ValidString(pw) {
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		return fmt.Errorf("%w: %d characters, at least %d are required", ErrWeakPassword, n, MinPasswordLength)
	}
	if n > MaxPasswordLength {
		return fmt.Errorf("%w: over %d characters", ErrWeakPassword, MaxPasswordLength)
	}
	var lower, upper, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r):
			return fmt.Errorf("%w: control characters are not allowed", ErrWeakPassword)
		default:
			special = true
		}
	}
	var missing []string
	for _, m := range []struct {
		ok   bool
		what string
	}{{lower, "a lower-case letter"}, {upper, "an upper-case letter"}, {digit, "a digit"}, {special, "a special character"}} {
		if !m.ok {
			missing = append(missing, m.what)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: add %s", ErrWeakPassword, strings.Join(missing, ", "))
	}
	if account != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(account)) {
		return fmt.Errorf("%w: it contains the account name", ErrWeakPassword)
	}
	return nil
}

// HashParams are argon2id's cost parameters.
type HashParams struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultHashParams is RFC 9106's second recommended option (64 MiB, 3
// passes), with the two lanes of a small server.
var DefaultHashParams = HashParams{Time: 3, MemoryKiB: 64 << 10, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
)

// HashPassword returns pw's argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), with a fresh random salt.
func HashPassword(pw string, p HashParams) (string, error) {
	if p.Time == 0 || p.MemoryKiB < 8*uint32(p.Threads) || p.Threads == 0 {
		return "", fmt.Errorf("%w: argon2id parameters t=%d m=%d p=%d", ErrConfig, p.Time, p.MemoryKiB, p.Threads)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Limits on a stored hash's parameters, so a corrupted or planted hash
// cannot make a login allocate gigabytes.
const (
	maxHashMemoryKiB = 1 << 20
	maxHashTime      = 16
)

// parseHash reads a PHC argon2id string.
func parseHash(s string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: want $argon2id$v=%d$…", ErrBadHash, argon2.Version)
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrBadHash, parts[3])
	}
	if fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Time, threads) != parts[3] || threads == 0 || threads > 255 ||
		p.Time == 0 || p.Time > maxHashTime || p.MemoryKiB > maxHashMemoryKiB || p.MemoryKiB < 8*threads {
		return p, nil, nil, fmt.Errorf("%w: parameters %q out of range", ErrBadHash, parts[3])
	}
	p.Threads = uint8(threads)
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrBadHash)
	}
	if key, err = enc.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, fmt.Errorf("%w: key", ErrBadHash)
	}
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches the PHC argon2id hash; a
// malformed hash is an error, never a match.
func VerifyPassword(hash, pw string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}
