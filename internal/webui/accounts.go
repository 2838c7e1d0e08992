package webui

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Account is a console account as stored. The password is kept only as its
// argon2id hash. The TOTP secret must be kept as is (the server computes
// the codes from it): the file is private to the server's user (0600) and
// the secret is never logged, listed or shown again after enrolment.
type Account struct {
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"password_hash"`
	TOTPSecret   string    `json:"totp_secret,omitempty"`
	Lang         string    `json:"lang,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	CreatedBy    string    `json:"created_by"`
	// Failures counts failed logins since the last success; LockedUntil
	// is when the lockout after too many of them ends.
	Failures     int       `json:"failures,omitempty"`
	LockedUntil  time.Time `json:"locked_until,omitzero"`
	LastTOTPStep int64     `json:"last_totp_step,omitempty"`
	LastLogin    time.Time `json:"last_login,omitzero"`
}

// AccountInfo is an account as listed: never its hash or secret.
type AccountInfo struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	MFA         bool      `json:"mfa"`
	Lang        string    `json:"lang,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
	LastLogin   time.Time `json:"last_login,omitzero"`
}

// Info returns the listable part of a.
func (a *Account) Info() AccountInfo {
	return AccountInfo{Name: a.Name, Role: a.Role, MFA: a.TOTPSecret != "", Lang: a.Lang, CreatedAt: a.CreatedAt,
		CreatedBy: a.CreatedBy, LockedUntil: a.LockedUntil, LastLogin: a.LastLogin}
}

var accountName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// CheckAccountName refuses a name that is not 1–64 of a-z, 0-9, '.', '_'
// and '-', starting with a letter or digit.
func CheckAccountName(name string) error {
	if !accountName.MatchString(name) {
		return fmt.Errorf("%w: account name %q: use 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", ErrInvalid, name)
	}
	return nil
}

var bucketAccounts = []byte("console_accounts")

// Accounts is the account file of one console, a bbolt database opened for
// each operation and closed after it, so that the CLI can change accounts
// while the server runs (each waits up to a few seconds for the other's
// file lock).
type Accounts struct {
	path string
	// Hash is the cost of new password hashes (default DefaultHashParams).
	Hash HashParams
	now  func() time.Time
	rand io.Reader
}

// NewAccounts returns the accounts kept in the bbolt file at path (created
// on first write). now nil is time.Now; rand nil is crypto/rand.
func NewAccounts(path string, now func() time.Time, rand io.Reader) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{path: path, Hash: DefaultHashParams, now: now, rand: rand}
}

// Path returns the file's path.
func (s *Accounts) Path() string { return s.path }

func (s *Accounts) open(readOnly bool) (*bolt.DB, error) {
	db, err := bolt.Open(s.path, 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("webui: account file %s: %w", s.path, err)
	}
	return db, nil
}

// update runs fn on the accounts bucket in a write transaction.
func (s *Accounts) update(fn func(b *bolt.Bucket) error) error {
	db, err := s.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAccounts)
		if err != nil {
			return err
		}
		return fn(b)
	})
}

// view runs fn on the accounts bucket (nil when none was ever written).
func (s *Accounts) view(fn func(b *bolt.Bucket) error) error {
	db, err := s.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketAccounts)) })
}

func getAccount(b *bolt.Bucket, name string) (*Account, error) {
	var raw []byte
	if b != nil {
		raw = b.Get([]byte(name))
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAccount, name)
	}
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("webui: account %s: %w", name, err)
	}
	return &a, nil
}

func putAccount(b *bolt.Bucket, a *Account) error {
	raw, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return b.Put([]byte(a.Name), raw)
}

// NewAccount is what Add needs to create an account.
type NewAccount struct {
	Name, Role, Password string
	// MFA enrols a TOTP second factor (required for a role that can
	// change state: the console's Config.MFARoles).
	MFA bool
	// Issuer labels the TOTP entry in the authenticator app.
	Issuer string
	// CreatedBy is who creates it ("cli", an account name).
	CreatedBy string
}

// Add creates an account after checking the name and the password policy,
// and returns its TOTP enrolment (empty without MFA). An existing name is
// ErrExists and changes nothing.
func (s *Accounts) Add(n NewAccount) (Enrolment, error) {
	if err := CheckAccountName(n.Name); err != nil {
		return Enrolment{}, err
	}
	if n.Role == "" {
		return Enrolment{}, fmt.Errorf("%w: a role is required", ErrInvalid)
	}
	if err := CheckPassword(n.Name, n.Password); err != nil {
		return Enrolment{}, err
	}
	hash, err := HashPassword(n.Password, s.Hash)
	if err != nil {
		return Enrolment{}, err
	}
	var enr Enrolment
	if n.MFA {
		if enr, err = NewTOTP(n.Issuer, n.Name, s.rand); err != nil {
			return Enrolment{}, err
		}
	}
	a := &Account{Name: n.Name, Role: n.Role, PasswordHash: hash, TOTPSecret: enr.Secret, CreatedAt: s.now().UTC(), CreatedBy: n.CreatedBy}
	err = s.update(func(b *bolt.Bucket) error {
		if b.Get([]byte(n.Name)) != nil {
			return fmt.Errorf("%w: %s", ErrExists, n.Name)
		}
		return putAccount(b, a)
	})
	if err != nil {
		return Enrolment{}, err
	}
	return enr, nil
}

// Get returns the account name.
func (s *Accounts) Get(name string) (*Account, error) {
	var a *Account
	err := s.view(func(b *bolt.Bucket) (err error) {
		a, err = getAccount(b, name)
		return err
	})
	return a, err
}

// List returns every account, by name.
func (s *Accounts) List() ([]AccountInfo, error) {
	out := []AccountInfo{}
	err := s.view(func(b *bolt.Bucket) error {
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var a Account
			if err := json.Unmarshal(v, &a); err != nil {
				return fmt.Errorf("webui: account %s: %w", k, err)
			}
			out = append(out, a.Info())
			return nil
		})
	})
	slices.SortFunc(out, func(x, y AccountInfo) int { return compareStrings(x.Name, y.Name) })
	return out, err
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Remove deletes the account name; its sessions end at their next request.
func (s *Accounts) Remove(name string) error {
	return s.Modify(name, nil)
}

// Modify changes the account name with fn inside one transaction (fn nil
// deletes it). An error from fn leaves the account unchanged.
func (s *Accounts) Modify(name string, fn func(a *Account) error) error {
	return s.update(func(b *bolt.Bucket) error {
		a, err := getAccount(b, name)
		if err != nil {
			return err
		}
		if fn == nil {
			return b.Delete([]byte(name))
		}
		if err := fn(a); err != nil {
			return err
		}
		a.Name = name
		return putAccount(b, a)
	})
}

// SetLang stores the account's language.
func (s *Accounts) SetLang(name, lang string) error {
	if !ValidLang(lang) {
		return fmt.Errorf("%w: language %q", ErrInvalid, lang)
	}
	return s.Modify(name, func(a *Account) error { a.Lang = lang; return nil })
}

// Unlock clears an account's failed logins and lockout.
func (s *Accounts) Unlock(name string) error {
	return s.Modify(name, func(a *Account) error { a.Failures, a.LockedUntil = 0, time.Time{}; return nil })
}
