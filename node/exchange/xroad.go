package exchange

import "errors"

// The families of X-Road error types (X-Road Message Protocol for REST,
// 4.6 Error handling; ErrorCodes in X-Road's common library): a fault of
// what the client sent, a failure at the consumer's security server
// (client proxy), a failure reported by the provider's (server proxy).
const (
	XRoadClient      = "Client"
	XRoadClientProxy = "Server.ClientProxy"
	XRoadServerProxy = "Server.ServerProxy"
)

// xroadCode is the X-Road name of a DXL error code, and whether it is a
// fault of the client's request when this node raises it.
type xroadCode struct {
	name   string
	client bool
}

// xroadCodes maps every code of the consumer API (Codes and the consumer's
// own, bad_path) to its X-Road name, X-Road's where it has one. Codes are
// wire values: change a name only with the docs' table.
var xroadCodes = map[string]xroadCode{
	"internal": {"InternalError", false},
	// The node's own codes.
	"config":                   {"MalformedServerConf", false},
	"not_enrolled":             {"SslAuthenticationFailed", false},
	"bad_request":              {"BadRequest", true},
	"bad_path":                 {"BadRequest", true},
	"bad_request_id":           {"InvalidRequest", true},
	"method_not_allowed":       {"InvalidHttpMethod", true},
	"unauthenticated":          {"SslAuthenticationFailed", true},
	"client_mismatch":          {"InvalidClientIdentifier", true},
	"unknown_client":           {"UnknownMember", true},
	"member_suspended":         {"AccessDenied", true},
	"member_revoked":           {"AccessDenied", true},
	"unknown_service":          {"UnknownService", true},
	"service_retired":          {"ServiceDisabled", true},
	"access_denied":            {"AccessDenied", true},
	"classification_refused":   {"AccessDenied", true},
	"schema_mismatch":          {"ServiceFailed", false},
	"rate_limited":             {"RateLimited", true},
	"too_large":                {"InvalidBody", true},
	"spool_failed":             {"InternalError", false},
	"headers_too_large":        {"InvalidRequest", true},
	"no_config":                {"OutdatedGlobalConf", false},
	"not_member":               {"InvalidSecurityServer", false},
	"provider_unreachable":     {"NetworkError", false},
	"backend_unreachable":      {"ServiceFailed", false},
	"backend_timeout":          {"ServiceFailed", false},
	"remote_error":             {"InternalError", false},
	"timeout":                  {"NetworkError", false},
	"duplicate_request":        {"DuplicateRequest", true},
	"replay_owner_unreachable": {"NetworkError", false},
	"timestamp_unavailable":    {"TimestampingFailed", false},
	"not_found":                {"NotFound", true},
	"chain_broken":             {"InvalidHashChain", false},
	"evidence_invalid":         {"InvalidSignatureValue", true},
	// envelope: the signed messages between nodes.
	"envelope_malformed":       {"InvalidMessage", false},
	"envelope_too_large":       {"InvalidMessage", false},
	"envelope_signature":       {"InvalidSignatureValue", false},
	"envelope_sealed":          {"InvalidMessage", false},
	"envelope_signer":          {"IncorrectCertificate", false},
	"envelope_revoked":         {"CertValidation", false},
	"envelope_clock_skew":      {"InvalidMessage", false},
	"envelope_replay":          {"InvalidMessage", false},
	"envelope_body_hash":       {"InconsistentResponse", false},
	"envelope_binding":         {"InconsistentResponse", false},
	"envelope_unsupported_key": {"UnsupportedAlgorithm", false},
	"envelope_overloaded":      {"InternalError", false},
	// auth: tokens and client credentials.
	"auth_config":         {"MalformedServerConf", false},
	"auth_subsystem":      {"InvalidClientIdentifier", true},
	"auth_not_found":      {"NotFound", true},
	"auth_invalid_client": {"SslAuthenticationFailed", true},
	"auth_missing_token":  {"SslAuthenticationFailed", true},
	"auth_invalid_token":  {"SslAuthenticationFailed", true},
	"auth_token_expired":  {"SslAuthenticationFailed", true},
	"auth_revoked":        {"SslAuthenticationFailed", true},
	"auth_store":          {"DatabaseError", false},
	"auth_throttled":      {"RateLimited", true},
	// auth: signed requests with access keys.
	"auth_signature_malformed": {"InvalidSignatureValue", true},
	"auth_unknown_access_key":  {"SslAuthenticationFailed", true},
	"auth_access_key_revoked":  {"SslAuthenticationFailed", true},
	"auth_algorithm_refused":   {"UnsupportedAlgorithm", true},
	"auth_signature_invalid":   {"InvalidSignatureValue", true},
	"auth_body_mismatch":       {"InvalidSignatureValue", true},
	"auth_signature_stale":     {"InvalidMessage", true},
	"auth_replayed":            {"InvalidMessage", true},
	"auth_session_expired":     {"SslAuthenticationFailed", true},
	"auth_busy":                {"InternalError", false},
	// admin API: access rights and rate limits.
	"access_exists":        {"BadRequest", true},
	"access_not_found":     {"BadRequest", true},
	"rate_limit_not_found": {"BadRequest", true},
	// services: identifiers, descriptions, rules, requests.
	"invalid_id":              {"BadRequest", true},
	"invalid_description":     {"MalformedServerConf", false},
	"invalid_rule":            {"MalformedServerConf", false},
	"invalid_config":          {"MalformedServerConf", false},
	"not_provided":            {"UnknownService", true},
	"unknown_version":         {"UnknownService", true},
	"request_invalid":         {"InvalidRequest", true},
	"mask_failed":             {"InconsistentResponse", false},
	"ip_denied":               {"AccessDenied", true},
	"schema_invalid":          {"InvalidRequest", true},
	"response_schema_invalid": {"InconsistentResponse", false},
	"invalid_soap":            {"InvalidSoap", true},
	"invalid_lgsp_route":      {"MalformedServerConf", false},
}

// XRoadName is code's X-Road name; ok is false for a code not in the
// table (XRoadType then says InternalError).
func XRoadName(code string) (name string, ok bool) {
	c, ok := xroadCodes[code]
	return c.name, ok
}

// XRoadType is the X-Road error type (X-Road-Error, the body's type) of
// err answered with code and status: Server.ServerProxy.<name> when the
// provider node reported it (RemoteError), Client.<name> for a fault of
// the request this node refused with a 4xx, Server.ClientProxy.<name> for
// any other failure of this node.
func XRoadType(err error, code string, status int) string {
	c, ok := xroadCodes[code]
	if !ok {
		c = xroadCodes["internal"]
	}
	var re *RemoteError
	switch {
	case errors.As(err, &re):
		return XRoadServerProxy + "." + c.name
	case c.client && status >= 400 && status < 500:
		return XRoadClient + "." + c.name
	default:
		return XRoadClientProxy + "." + c.name
	}
}
