package services

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Provided is what the Gate knows of one service its node provides.
type Provided struct {
	// ID is the service without version.
	ID ServiceID
	// Description holds the versions and their lifecycle.
	Description *Description
	// Validate maps a version to the OpenAPI description its requests are
	// checked against before the backend sees them (validate_requests);
	// nil or a missing version: not checked.
	Validate map[string]*OpenAPI
	// Schemas maps a version to the JSON Schema its request bodies are
	// checked against (after the OpenAPI description, when both are set)
	// before the backend sees them; nil or a missing version: not checked.
	Schemas map[string]*Schema
}

// Gate is a provider's policy for inbound calls, applied in one step by
// Admit, in the order of docs/architecture.md: the service is provided
// here, the version resolves and its lifecycle allows the call, the ACL
// allows client, method and path, the rate limit is charged (only to calls
// the ACL allowed), then the body is read and checked against the
// version's OpenAPI description and the JSON Schema of its data type.
type Gate struct {
	provided map[string]*Provided // by unversioned ID
	acl      atomic.Pointer[ACL]
	limiter  atomic.Pointer[Limiter]
	now      func() time.Time
}

// NewGate returns the gate over the provided services (keyed by
// unversioned ID) and acl. now defaults to time.Now. Until SetLimiter,
// nothing is rate limited.
func NewGate(provided map[string]*Provided, acl *ACL, now func() time.Time) *Gate {
	if now == nil {
		now = time.Now
	}
	g := &Gate{provided: provided, now: now}
	g.acl.Store(acl)
	return g
}

// SetACL installs acl for the calls admitted from now on (an access right
// granted or revoked while the node runs).
func (g *Gate) SetACL(acl *ACL) { g.acl.Store(acl) }

// SetLimiter installs the rate limiter (a new policy replaces it).
func (g *Gate) SetLimiter(l *Limiter) { g.limiter.Store(l) }

// Limiter is the rate limiter in use, or nil.
func (g *Gate) Limiter() *Limiter { return g.limiter.Load() }

// ACL is the gate's access control list.
func (g *Gate) ACL() *ACL { return g.acl.Load() }

// Lookup returns the provided service id (any version), or nil.
func (g *Gate) Lookup(id ServiceID) *Provided { return g.provided[id.Unversioned().String()] }

// Request is one inbound call as the gate sees it.
type Request struct {
	Client      SubsystemID
	Service     ServiceID
	Method      string
	Path        string // path and query
	ContentType string
	// Groups resolves global groups for the ACL (the configuration the
	// call started with); nil: the ACL's own.
	Groups Groups
	// Meta marks a metadata call (listMethods, …): it is only charged to
	// the rate limit; its body is the caller's to discard.
	Meta bool
	// Body reads the whole request body. Admit calls it only for a
	// version that validates requests, once the call is admitted by the
	// rate limit, so no byte is read for a refused call; any other call's
	// body is the caller's to stream.
	Body func() ([]byte, error)
	// Contract, when set, is asked about the resolved version once the
	// call is admitted by the rate limit, before the body is read: its
	// error refuses the call (the provider's schemas for the version are
	// not the ones its catalogue entry publishes).
	Contract func(version string) error
}

// Admitted is a call the gate let through.
type Admitted struct {
	// Service and Version are the resolved service (nil for a metadata
	// call).
	Service *Provided
	Version *Version
	// Body is what Request.Body returned, nil when it was not called.
	Body []byte
}

// Refusal is a refusal of the gate before the rate limit: Err is
// ErrNotProvided, ErrUnknownVersion, ErrRetired or ErrAccessDenied, and
// Detail says what was refused.
type Refusal struct {
	Err    error
	Detail string
}

func (r *Refusal) Error() string { return r.Err.Error() + ": " + r.Detail }

// Unwrap returns the sentinel.
func (r *Refusal) Unwrap() error { return r.Err }

// RateLimitedError is a call refused by the rate limit; RetryAfter is the
// wait after which the next call is allowed.
type RateLimitedError struct {
	RetryAfter time.Duration
}

func (e *RateLimitedError) Error() string { return "rate limit exceeded" }

// Unwrap makes it an ErrRateLimited.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// Admit applies the policy to r: a *Refusal, a *RateLimitedError, the
// error of r.Contract or of r.Body, an ErrValidation error, a *SchemaError
// (ErrSchema), or the admitted call.
func (g *Gate) Admit(ctx context.Context, r *Request) (*Admitted, error) {
	if r.Meta {
		if err := g.charge(r); err != nil {
			return nil, err
		}
		return &Admitted{}, nil
	}
	p := g.Lookup(r.Service)
	if p == nil {
		return nil, &Refusal{ErrNotProvided, r.Service.String() + " is not provided by this node"}
	}
	ver, err := p.Description.Resolve(r.Service.Version, g.now())
	if err != nil {
		if errors.Is(err, ErrRetired) {
			return nil, &Refusal{ErrRetired, r.Service.String()}
		}
		return nil, &Refusal{ErrUnknownVersion, r.Service.String() + ": " + err.Error()}
	}
	pathOnly, _, _ := strings.Cut(r.Path, "?")
	acl := g.acl.Load()
	groups := r.Groups
	if groups == nil {
		groups = acl.groups
	}
	if err := acl.CheckIn(groups, r.Client, r.Service, r.Method, pathOnly); err != nil {
		return nil, &Refusal{ErrAccessDenied, fmt.Sprintf("%s may not call %s %s on %s", r.Client, r.Method, pathOnly, r.Service)}
	}
	if err := g.charge(r); err != nil {
		return nil, err
	}
	if r.Contract != nil {
		if err := r.Contract(ver.Version); err != nil {
			return nil, err
		}
	}
	a := &Admitted{Service: p, Version: ver}
	api, schema := p.Validate[ver.Version], p.Schemas[ver.Version]
	if (api != nil || schema != nil) && r.Body != nil {
		if a.Body, err = r.Body(); err != nil {
			return nil, err
		}
	}
	if api != nil {
		h := http.Header{}
		if r.ContentType != "" {
			h.Set("Content-Type", r.ContentType)
		}
		if err := api.ValidateRequest(ctx, r.Method, r.Path, h, a.Body); err != nil {
			return nil, err
		}
	}
	if schema != nil && (len(a.Body) > 0 || bodyMethod(r.Method)) {
		if err := schema.ValidateRequest(a.Body); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// charge charges one call to the client's budget for the service.
func (g *Gate) charge(r *Request) error {
	if l := g.limiter.Load(); l != nil {
		if ok, after := l.Allow(r.Client, r.Service, r.Method); !ok {
			return &RateLimitedError{RetryAfter: after}
		}
	}
	return nil
}

// bodyMethod reports whether a request of method carries a body its
// schema checks even when empty (POST, PUT, PATCH); a request of another
// method is checked only when it has a body.
func bodyMethod(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}
