package webui

import "errors"

// Errors of the package. A refused login answers ErrBadCredentials whatever
// was wrong (unknown account, password, code), so a guesser learns nothing;
// the reason goes to the server log only.
var (
	ErrWeakPassword   = errors.New("webui: password does not meet the policy")
	ErrBadCredentials = errors.New("webui: wrong account name, password or code")
	ErrLocked         = errors.New("webui: account locked after failed logins")
	ErrNoSession      = errors.New("webui: no session or session expired")
	ErrBadToken       = errors.New("webui: the form token is missing or wrong")
	ErrExists         = errors.New("webui: account exists")
	ErrUnknownAccount = errors.New("webui: no such account")
	ErrInvalid        = errors.New("webui: invalid input")
	ErrBadHash        = errors.New("webui: malformed password hash")
	ErrConfig         = errors.New("webui: invalid configuration")
)
