package webui

import (
	"crypto/subtle"
	"fmt"
	"io"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: RFC 6238 defaults every authenticator app reads from an
// otpauth:// URI (SHA-1, 6 digits, 30 s), one step of clock skew either way.
const (
	totpPeriod = 30
	totpSkew   = 1
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Enrolment is a new second factor: the base32 secret and the otpauth://
// URI an authenticator app takes (as text or as a QR code). Both are shown
// once, when the account is created.
type Enrolment struct {
	Secret string `json:"totp_secret"`
	URI    string `json:"otpauth_uri"`
}

// NewTOTP makes a 160-bit TOTP secret for account, labelled with issuer in
// the authenticator app; rand nil means crypto/rand.
func NewTOTP(issuer, account string, rand io.Reader) (Enrolment, error) {
	opts := totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod, SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand}
	k, err := totp.Generate(opts)
	if err != nil {
		return Enrolment{}, fmt.Errorf("webui: TOTP secret: %w", err)
	}
	return Enrolment{Secret: k.Secret(), URI: k.URL()}, nil
}

// TOTPCode returns the code of secret at t (for tests and the demo).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// checkTOTP returns the time step whose code code is, among the steps
// around now after lastStep (a code is accepted once: a step at or before
// the last one used is refused, so a code seen over a shoulder or in a
// log cannot be replayed); ok false if none.
func checkTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep {
			return s, true
		}
	}
	return 0, false
}
