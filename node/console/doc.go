// Package console is the node's web management console (docs/console.md),
// served by a node under /console/ on its HTTPS consumer API listener:
// login with password and TOTP, the node's health (level 1, and level 2
// per provided service) and its peers, the services it provides with their
// versions and lifecycle, access rights (grant and revoke per subsystem,
// group and endpoint), consumer credentials, the operational records with
// filters and CSV/JSON download, statistics as server-rendered SVG charts,
// evidence bundles, reconciliation reports, the admin audit log and the
// document delivery queues.
//
// The console has no write path and no read path of its own: every page
// and every action is a request to the node's own admin API (the one the
// CLI uses on the admin socket), made in-process through Admin.AdminAs as
// the actor "console:<account>", so a change passes the same validation
// and is recorded in the node's hash-chained audit log with the account.
// The console checks the account's role on every request first: auditors
// read, service managers also change access rights and credentials, node
// administrators do everything.
//
// Accounts, sessions, the password policy, MFA, lockout, the security
// headers, the two languages and the page frame come from internal/webui.
package console
