package services

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// SubsystemID identifies an information system:
// INSTANCE/CLASS/MEMBER/SUBSYSTEM. It is comparable and used as a map key.
type SubsystemID struct {
	Member    ident.Member
	Subsystem string
}

// String returns INSTANCE/CLASS/MEMBER/SUBSYSTEM.
func (s SubsystemID) String() string { return s.Member.String() + "/" + s.Subsystem }

// is reports whether x == s.String(), without allocating.
func (s SubsystemID) is(x string) bool {
	m := s.Member
	if len(x) != len(m.Instance)+len(m.Class)+len(m.Code)+len(s.Subsystem)+3 {
		return false
	}
	for _, p := range [...]string{m.Instance, m.Class, m.Code} {
		if x[:len(p)] != p || x[len(p)] != '/' {
			return false
		}
		x = x[len(p)+1:]
	}
	return x == s.Subsystem
}

// IsZero reports whether s is the zero value.
func (s SubsystemID) IsZero() bool { return s == SubsystemID{} }

// ParseSubsystemID parses INSTANCE/CLASS/MEMBER/SUBSYSTEM; every part must
// pass ident.CheckPart.
func ParseSubsystemID(s string) (SubsystemID, error) {
	var p [4]string
	if !splitN(s, p[:]) {
		return SubsystemID{}, fmt.Errorf("%w: %q: want INSTANCE/CLASS/MEMBER/SUBSYSTEM", ErrInvalidID, s)
	}
	if err := checkParts(s, p[:]); err != nil {
		return SubsystemID{}, err
	}
	return SubsystemID{Member: ident.Member{Instance: p[0], Class: p[1], Code: p[2]}, Subsystem: p[3]}, nil
}

// ServiceID identifies a service: PROVIDER/SERVICE[/VERSION], PROVIDER
// being the providing subsystem. It is comparable and used as a map key.
type ServiceID struct {
	Provider SubsystemID
	Code     string
	Version  string // "" when unversioned
}

// String returns INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION], the
// same form as globalconf.Service.ID.
func (s ServiceID) String() string {
	id := s.Provider.String() + "/" + s.Code
	if s.Version != "" {
		id += "/" + s.Version
	}
	return id
}

// Unversioned returns s without its version.
func (s ServiceID) Unversioned() ServiceID { s.Version = ""; return s }

// ParseServiceID parses INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION].
func ParseServiceID(s string) (ServiceID, error) {
	var p [6]string
	n := strings.Count(s, "/") + 1
	if n != 5 && n != 6 || !splitN(s, p[:n]) {
		return ServiceID{}, fmt.Errorf("%w: %q: want INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE[/VERSION]", ErrInvalidID, s)
	}
	if err := checkParts(s, p[:n]); err != nil {
		return ServiceID{}, err
	}
	return ServiceID{
		Provider: SubsystemID{Member: ident.Member{Instance: p[0], Class: p[1], Code: p[2]}, Subsystem: p[3]},
		Code:     p[4],
		Version:  p[5],
	}, nil
}

// splitN splits s on "/" into exactly len(dst) parts.
func splitN(s string, dst []string) bool {
	for i := range dst {
		if i == len(dst)-1 {
			if strings.IndexByte(s, '/') >= 0 {
				return false
			}
			dst[i] = s
			return true
		}
		j := strings.IndexByte(s, '/')
		if j < 0 {
			return false
		}
		dst[i], s = s[:j], s[j+1:]
	}
	return false
}

func checkParts(s string, parts []string) error {
	for _, p := range parts {
		if err := ident.CheckPart(p); err != nil {
			// ident.ErrInvalid is translated at this boundary.
			return fmt.Errorf("%w: %q: %v", ErrInvalidID, s, err)
		}
	}
	return nil
}

// Version is one version of a service as its provider registers it.
type Version struct {
	// Version is the version part of the service ID; "" for an
	// unversioned service (at most one per Description).
	Version   string          `json:"version,omitempty"`
	Lifecycle ident.Lifecycle `json:"lifecycle"`
	// DeprecatedAt and Sunset are required when Lifecycle is Deprecated,
	// with DeprecatedAt before Sunset; they are ignored otherwise.
	DeprecatedAt time.Time `json:"deprecated_at,omitzero"`
	Sunset       time.Time `json:"sunset,omitzero"`
	// BackendURL is the provider's own http(s) endpoint for this version.
	BackendURL string `json:"backend_url"`
	// Timeout bounds one backend call; 0 means DefaultBackendTimeout.
	Timeout Duration `json:"timeout,omitempty"`
	// OpenAPI is the optional OpenAPI 3 document; OpenAPISHA256 is its
	// lower-case hex SHA-256 (filled in by Validate when empty, checked
	// otherwise), the value published as globalconf description_sha256.
	OpenAPI       []byte `json:"openapi,omitempty"`
	OpenAPISHA256 string `json:"openapi_sha256,omitempty"`
	// WSDL is the optional WSDL of a SOAP service, served by the SOAP
	// getWsdl metaservice (PrepareWSDL checks it).
	WSDL []byte `json:"wsdl,omitempty"`
}

// Duration is a time.Duration written in JSON as Go duration text ("30s",
// "1m30s"), as in every DXL configuration file.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// DefaultBackendTimeout is the backend timeout of a version that sets none.
const DefaultBackendTimeout = 30 * time.Second

// EffectiveTimeout returns Timeout or DefaultBackendTimeout.
func (v *Version) EffectiveTimeout() time.Duration {
	if v.Timeout > 0 {
		return time.Duration(v.Timeout)
	}
	return DefaultBackendTimeout
}

// Check returns nil when v may be called at now, or ErrRetired for a
// retired version and a deprecated one whose sunset has passed.
func (v *Version) Check(now time.Time) error {
	switch {
	case v.Lifecycle == ident.ServiceRetired:
		return fmt.Errorf("%w: version %q is retired", ErrRetired, v.Version)
	case v.Lifecycle == ident.ServiceDeprecated && !now.Before(v.Sunset):
		return fmt.Errorf("%w: version %q reached its sunset at %s", ErrRetired, v.Version, v.Sunset.UTC().Format(time.RFC3339))
	}
	return nil
}

// LifecycleHeaders returns the Deprecation and Sunset header values for v,
// both "" unless v is deprecated (see the package documentation).
func (v *Version) LifecycleHeaders() (deprecation, sunset string) {
	if v.Lifecycle != ident.ServiceDeprecated {
		return "", ""
	}
	return "@" + strconv.FormatInt(v.DeprecatedAt.Unix(), 10), v.Sunset.UTC().Format(http.TimeFormat)
}

// SetHeaders sets the Deprecation and Sunset headers on h when v is
// deprecated and leaves h alone otherwise.
func (v *Version) SetHeaders(h http.Header) {
	if d, s := v.LifecycleHeaders(); d != "" {
		h.Set("Deprecation", d)
		h.Set("Sunset", s)
	}
}

func (v *Version) validate() error {
	if v.Version != "" {
		if err := ident.CheckPart(v.Version); err != nil {
			return fmt.Errorf("version: %v", err)
		}
	}
	switch v.Lifecycle {
	case ident.ServicePublished, ident.ServiceRetired:
	case ident.ServiceDeprecated:
		if v.DeprecatedAt.IsZero() || v.Sunset.IsZero() || !v.DeprecatedAt.Before(v.Sunset) {
			return fmt.Errorf("version %q: deprecated needs deprecated_at before sunset", v.Version)
		}
	default:
		return fmt.Errorf("version %q: lifecycle %q", v.Version, v.Lifecycle)
	}
	u, err := url.Parse(v.BackendURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("version %q: backend_url %q must be an absolute http(s) URL", v.Version, v.BackendURL)
	}
	if v.Timeout < 0 {
		return fmt.Errorf("version %q: negative timeout", v.Version)
	}
	if len(v.OpenAPI) > 0 {
		sum := sha256.Sum256(v.OpenAPI)
		h := hex.EncodeToString(sum[:])
		if v.OpenAPISHA256 == "" {
			v.OpenAPISHA256 = h
		} else if v.OpenAPISHA256 != h {
			return fmt.Errorf("version %q: openapi_sha256 does not match the document", v.Version)
		}
	} else if v.OpenAPISHA256 != "" {
		return fmt.Errorf("version %q: openapi_sha256 without a document", v.Version)
	}
	if len(v.WSDL) > 0 {
		if _, err := PrepareWSDL(v.WSDL); err != nil {
			return fmt.Errorf("version %q: %v", v.Version, err)
		}
	}
	return nil
}

// Description is a service its provider registers locally on its node.
type Description struct {
	Code     string    `json:"code"`
	Versions []Version `json:"versions"`
}

// Validate checks d and fills in missing OpenAPI digests. Errors wrap
// ErrInvalidDescription.
func (d *Description) Validate() error {
	if err := ident.CheckPart(d.Code); err != nil {
		return fmt.Errorf("%w: code: %v", ErrInvalidDescription, err)
	}
	if len(d.Versions) == 0 {
		return fmt.Errorf("%w: service %q has no version", ErrInvalidDescription, d.Code)
	}
	seen := make(map[string]bool, len(d.Versions))
	for i := range d.Versions {
		v := &d.Versions[i]
		if seen[v.Version] {
			return fmt.Errorf("%w: service %q: version %q listed twice", ErrInvalidDescription, d.Code, v.Version)
		}
		seen[v.Version] = true
		if err := v.validate(); err != nil {
			return fmt.Errorf("%w: service %q: %v", ErrInvalidDescription, d.Code, err)
		}
	}
	return nil
}

// Lookup returns the version named version ("" for the unversioned one)
// or ErrUnknownVersion.
func (d *Description) Lookup(version string) (*Version, error) {
	for i := range d.Versions {
		if d.Versions[i].Version == version {
			return &d.Versions[i], nil
		}
	}
	return nil, fmt.Errorf("%w: service %q has no version %q", ErrUnknownVersion, d.Code, version)
}

// Resolve looks up version and checks that it may be called at now:
// ErrUnknownVersion, ErrRetired or nil. The node then calls SetHeaders on
// the response.
func (d *Description) Resolve(version string, now time.Time) (*Version, error) {
	v, err := d.Lookup(version)
	if err != nil {
		return nil, err
	}
	if err := v.Check(now); err != nil {
		return nil, err
	}
	return v, nil
}

// RetryAfter returns the Retry-After header value for a wait of d: whole
// seconds rounded up, at least 1.
func RetryAfter(d time.Duration) string {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(int64(s), 10)
}
