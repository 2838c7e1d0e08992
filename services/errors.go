package services

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Test them with errors.Is; every error this package
// returns wraps exactly one of them. Each has a stable machine code
// (Codes) for exchange-layer error bodies and the X-DXL-Error header.
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
	// ErrSchema: a request body does not match the JSON Schema of its
	// data type (Schema.ValidateRequest); the error is a *SchemaError
	// naming the failing location.
	ErrSchema = errors.New("services: request body does not match its schema")
	// ErrResponseSchema: a backend's response body does not match the
	// JSON Schema of its data type (validate_responses); the answer is not
	// signed nor sent.
	ErrResponseSchema = errors.New("services: response body does not match its schema")
	// ErrIPDenied: the caller's address is refused by ip_rules (IPFilter).
	ErrIPDenied = errors.New("services: address not allowed")
	// ErrMask: a response whose fields are masked for its consumer is not
	// one JSON value (MaskSet.Apply): it is not passed on.
	ErrMask = errors.New("services: response cannot be masked")
	// ErrSOAP: a SOAP request is malformed or lacks a valid X-Road header
	// (client, service, id).
	ErrSOAP = errors.New("services: invalid SOAP request")
	// ErrLGSP: an LGSP route is malformed or duplicated.
	ErrLGSP = errors.New("services: invalid LGSP route")
)

// Codes is the package's error table (internal/errcode), tried in the order
// of the sentinel block. Errors in descriptions, rules and configuration
// are the operator's (500); the rest are about a request.
var Codes = errcode.New(
	errcode.Entry{Err: ErrInvalidID, Code: "invalid_id", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrInvalidDescription, Code: "invalid_description"},
	errcode.Entry{Err: ErrInvalidRule, Code: "invalid_rule"},
	errcode.Entry{Err: ErrInvalidConfig, Code: "invalid_config"},
	errcode.Entry{Err: ErrAccessDenied, Code: "access_denied", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrRateLimited, Code: "rate_limited", Status: http.StatusTooManyRequests},
	errcode.Entry{Err: ErrNotProvided, Code: "not_provided", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrUnknownVersion, Code: "unknown_version", Status: http.StatusNotFound},
	errcode.Entry{Err: ErrRetired, Code: "service_retired", Status: http.StatusGone},
	errcode.Entry{Err: ErrValidation, Code: "request_invalid", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrSchema, Code: "schema_invalid", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrResponseSchema, Code: "response_schema_invalid", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrIPDenied, Code: "ip_denied", Status: http.StatusForbidden},
	errcode.Entry{Err: ErrMask, Code: "mask_failed", Status: http.StatusBadGateway},
	errcode.Entry{Err: ErrSOAP, Code: "invalid_soap", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrLGSP, Code: "invalid_lgsp_route"},
)
