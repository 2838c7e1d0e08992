// Package exchange is what both sides of a DXL call share: the consumer API
// and call client (node/consumer) and the provider's stream handler
// (node/provider).
//
//   - errors.go: the node's exchange-layer sentinel errors and its error
//     table (Codes, internal/errcode), joined with those of envelope, auth
//     and services; Status, the HTTP status an information system sees,
//     with the statuses of codes a provider node reports (RemoteError).
//   - member.go: the parties of a call checked against the signed
//     configuration (member active, subsystem registered), shared by both
//     sides.
//   - body.go: the error body of every API, its JSON writer and its XML
//     form.
//   - xroad.go: the X-Road error type of every code (X-Road-Error and
//     the body's type): one table of names, the family by who raised it.
//   - record.go: what one call leaves in the message log and the
//     operational records (Exchange, Logs), behind two small interfaces
//     with a no-op (NoLogs).
//   - meta.go: the names of the metadata calls (listMethods, …).
package exchange
