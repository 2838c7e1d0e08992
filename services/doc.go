// Package services holds what a provider declares about its services and
// what a node enforces on every inbound call (DESIGN.md §1, §4 step 3):
//
//   - identifiers: [ServiceID] (INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION])
//     and [SubsystemID] (the calling client, INSTANCE/CLASS/MEMBER/SUBSYSTEM);
//   - [Description]: a service registered locally by its provider, with its
//     versions, each in a lifecycle state (published, deprecated with a
//     sunset time, retired), backend URL, timeout and optional OpenAPI
//     document; [Version.Check] refuses retired versions and
//     [Version.SetHeaders] emits the Deprecation and Sunset headers;
//   - [ACL]: access rights. A [Rule] grants one service (all its versions, or
//     one) and optionally one REST endpoint (method + path pattern with `*`
//     and `**` wildcards) to a [Subject]: a client subsystem, a global group
//     (resolved through [Groups], backed by the signed global configuration)
//     or a local group defined by the provider. Deny by default.
//   - [Gate]: the provider's policy in one call, [Gate.Admit]: service provided,
//     version and lifecycle, ACL, rate limit, then OpenAPI request validation
//     and the request's JSON Schema, in that order; a refusal is a [*Refusal] or a [*RateLimitedError]
//     carrying RetryAfter.
//   - [Limiter]: rate limits per consumer subsystem per service, with
//     separate read and write budgets (R-T1: 1,000 reads/min and 300
//     writes/min by default), overridable per service and per client.
//   - [OpenAPI]: a REST service's OpenAPI 3 description ([LoadOpenAPI]
//     refuses external references), its [OpenAPI.Endpoints] as ACL patterns and
//     [OpenAPI.ValidateRequest] against service-relative paths.
//   - [Schema] (schema.go): the JSON Schema (2020-12) of a data type,
//     compiled by [CompileSchema] from its own bytes (external references
//     refused; XSD refused: the default build has no XSD validator);
//     [Schema.ValidateRequest] and [Schema.ValidateResponse] answer a
//     [*SchemaError] naming the failing JSON pointer.
//   - [IPRules] (iprules.go): node.json's ip_rules, allow and deny lists of
//     CIDR prefixes for the information-system API and per service,
//     compiled into an [IPFilter] (deny wins, a non-empty allow list must
//     match; refusals wrap [ErrIPDenied]).
//   - [MaskRule] (mask.go): node.json's masking, the fields of a service's
//     JSON responses masked (keep the last N characters), hashed (SHA-256
//     hex) or dropped for one consumer subsystem or member, compiled into a
//     [Masker]; [MaskSet.Apply] refuses a body that is not JSON ([ErrMask]).
//   - SOAP pass-through: [IsSOAP], [ParseSOAP] reads the X-Road SOAP header
//     (client, service, id) of a SOAP 1.1 or 1.2 request and [SOAPFault]
//     builds the fault returned to a SOAP client; [SOAPMethodsResponse]
//     builds the SOAP listMethods / allowedMethods answer (soapmeta.go).
//   - [LGSPMap]: the LGSP path form /{version}/{domain}/{resource}[/rest]
//     mapped to services.
//
// # Lifecycle headers
//
// A deprecated version answers with
//
//	Deprecation: @<unix seconds of DeprecatedAt>
//	Sunset: <HTTP-date of Sunset>
//
// The Deprecation value is the structured-field date of RFC 9745 (the
// former draft-ietf-httpapi-deprecation-header); DXL always sends the date
// form, never the legacy "true", so a consumer learns when deprecation
// started. Sunset is the IMF-fixdate of RFC 8594. A deprecated version whose
// sunset has passed is refused like a retired one ([ErrRetired]).
//
// # Rate limiting algorithm
//
// [Limiter] is a token bucket implemented as GCRA (generic cell rate
// algorithm): per (client, service, read|write) it keeps one "theoretical
// arrival time". A budget of N per minute allows a burst of N requests and
// then one request every 60s/N (rounded up to the nanosecond, so the
// sustained rate never exceeds N/min). A refused call gets the exact wait
// after which the next call is allowed; [RetryAfter] turns it into a
// Retry-After header value in whole seconds, rounded up. A bucket whose
// arrival time has passed is indistinguishable from a fresh one, so idle
// buckets are evicted without changing any decision; the memory held is
// bounded by the number of clients active within the last minute.
// Rate limits key on the service without its version: switching versions
// does not multiply a client's budget.
//
// All errors wrap one sentinel of the block in errors.go; [ErrorCode] gives
// its stable machine code for the X-DXL-Error marker.
package services
