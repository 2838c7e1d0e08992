package services

import "errors"

// Sentinel errors. Test them with errors.Is; every error this package
// returns wraps exactly one of them. Each has a stable machine code
// (ErrorCode) for exchange-layer error bodies and the X-DXL-Error header.
var (
	// ErrInvalidID: a service or subsystem identifier does not parse.
	ErrInvalidID = errors.New("services: invalid identifier")
	// ErrInvalidDescription: a service description breaks a rule of
	// Description.Validate, or its OpenAPI document does not load
	// (LoadOpenAPI: too large, external reference, invalid).
	ErrInvalidDescription = errors.New("services: invalid service description")
	// ErrInvalidRule: an access rule, subject, endpoint or path pattern is
	// malformed, or names an undefined local group.
	ErrInvalidRule = errors.New("services: invalid access rule")
	// ErrInvalidConfig: a rate-limit configuration value is out of range.
	ErrInvalidConfig = errors.New("services: invalid configuration")
	// ErrAccessDenied: no rule grants the client the service or endpoint.
	ErrAccessDenied = errors.New("services: access denied")
	// ErrRateLimited: the client used up its budget for the service. The
	// node answers 429 with a Retry-After header.
	ErrRateLimited = errors.New("services: rate limit exceeded")
	// ErrNotProvided: the service is not provided by this node (Gate).
	ErrNotProvided = errors.New("services: service not provided here")
	// ErrUnknownVersion: the service has no such version.
	ErrUnknownVersion = errors.New("services: unknown service version")
	// ErrRetired: the version is retired, or deprecated and past its sunset.
	ErrRetired = errors.New("services: service version retired")
	// ErrValidation: a request does not match the OpenAPI description of
	// the service (OpenAPI.ValidateRequest), including an operation the
	// description does not have.
	ErrValidation = errors.New("services: request does not match the service description")
	// ErrSOAP: a SOAP request is malformed or lacks a valid X-Road header
	// (client, service, id).
	ErrSOAP = errors.New("services: invalid SOAP request")
	// ErrLGSP: an LGSP route is malformed or duplicated.
	ErrLGSP = errors.New("services: invalid LGSP route")
)

var errorCodes = []struct {
	err  error
	code string
}{
	{ErrInvalidID, "invalid_id"},
	{ErrInvalidDescription, "invalid_description"},
	{ErrInvalidRule, "invalid_rule"},
	{ErrInvalidConfig, "invalid_config"},
	{ErrAccessDenied, "access_denied"},
	{ErrRateLimited, "rate_limited"},
	{ErrNotProvided, "not_provided"},
	{ErrUnknownVersion, "unknown_version"},
	{ErrRetired, "service_retired"},
	{ErrValidation, "request_invalid"},
	{ErrSOAP, "invalid_soap"},
	{ErrLGSP, "invalid_lgsp_route"},
}

// ErrorCode returns the machine code of the first sentinel err wraps, in the
// order of the sentinel block, "" for nil, or "internal".
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return "internal"
}
