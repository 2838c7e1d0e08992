// Package console is the registry's web management console (docs/console.md),
// served by every registry server under /console/ on its HTTPS API listener:
// login with password and TOTP, a dashboard (members, nodes, pending
// registrations, the global configuration's version and age, the CA chain
// and the TSAs), the registration queue with every Form 01/02 field and
// approve / reject with a reason, members with their information systems,
// nodes and certificates (suspend and reactivate with a reason), the
// service catalogue, groups and network policy (read-only), and the
// replicated hash-chained history, searchable.
//
// The console has no write path of its own: an action calls the registry
// API's own admin handler in-process (Admin.AsOperator), as an operator
// named "console:<account>" with the account's role mapped onto the API's
// roles, so it passes the same role check and the same Apply as a request
// from the CLI, and the history records the account as the actor. Reads
// come from the local state (Store.Read), as the API's do.
//
// Accounts, sessions, the password policy, MFA, lockout, the security
// headers and the two languages come from internal/webui.
package console
