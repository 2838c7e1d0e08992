// Package webui is the plumbing the DXL web consoles share: local accounts
// with argon2id password hashes and the R-K3 password policy (Accounts, kept
// in a bbolt file opened for each operation, so the CLI can add an account
// while the server runs), TOTP second factors (RFC 6238, a code accepted
// once), login with lockout and backoff (Auth), server-side sessions with
// idle and absolute expiry in Secure, HttpOnly, SameSite=Strict cookies, a
// per-session form token on top of net/http's CrossOriginProtection, the
// security headers with a strict Content-Security-Policy (no script at all,
// style only from the console's own embedded style sheet), the Vietnamese
// and English message catalogue with the language choice, and the shared
// page layout (html/template, go:embed).
//
// Roles are strings the console that uses the package defines; Auth only
// checks that an account with a role in Config.MFARoles has a second factor
// (TOTP is then always asked for) and the console checks the role of the
// session on every request.
//
// The package is leaf plumbing: it imports nothing of DXL.
package webui
