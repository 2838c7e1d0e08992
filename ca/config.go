package ca

import (
	"fmt"
	"net/url"
	"time"

	"github.com/dxl-network/dxl/internal/ident"
)

// Config is what Init needs and what ca.json keeps.
type Config struct {
	// Instance is the DXL instance code (VN-TEST, VN), part of every member ID.
	Instance string `json:"instance"`
	// Country is the subject C of every certificate; default VN.
	Country string `json:"country"`
	// Organization is the network operator's name, the O of the CA
	// certificates and the default O of the tsa and registry-config profiles.
	Organization string `json:"organization"`
	// Operator is the operator's own member ID (CLASS/CODE or full), used as
	// the serialNumber of tsa and registry-config certificates. Optional.
	Operator string `json:"operator,omitempty"`
	// PublicURL, when set, is the base URL where `dxl ca serve` is reachable
	// by outside verifiers; issued certificates then carry CRL distribution
	// point (PublicURL/crl) and OCSP (PublicURL/ocsp) pointers.
	PublicURL string `json:"public_url,omitempty"`
	// RootValidity and IntermediateValidity bound the CA certificates.
	RootValidity         Duration `json:"root_validity"`
	IntermediateValidity Duration `json:"intermediate_validity"`
	// CRLValidity is how long a CRL stays current (nextUpdate - thisUpdate).
	CRLValidity Duration `json:"crl_validity"`
	// OCSPValidity is how long an OCSP response stays current.
	OCSPValidity Duration `json:"ocsp_validity"`
}

// Duration is a time.Duration that reads and writes as "720h0m0s" in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

const day = 24 * time.Hour

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Country == "" {
		c.Country = "VN"
	}
	if c.Organization == "" {
		c.Organization = "DXL " + c.Instance + " network operator"
	}
	if c.RootValidity == 0 {
		c.RootValidity = Duration(20 * 365 * day)
	}
	if c.IntermediateValidity == 0 {
		c.IntermediateValidity = Duration(10 * 365 * day)
	}
	if c.CRLValidity == 0 {
		c.CRLValidity = Duration(7 * day)
	}
	if c.OCSPValidity == 0 {
		c.OCSPValidity = Duration(time.Hour)
	}
	return c
}

// Validate reports the first problem with c (after WithDefaults).
func (c Config) Validate() error {
	if err := ident.CheckPart(c.Instance); err != nil {
		return fmt.Errorf("%w: instance: %v", ErrBadConfig, err)
	}
	if len(c.Country) != 2 {
		return fmt.Errorf("%w: country %q must be a two-letter ISO 3166 code", ErrBadConfig, c.Country)
	}
	if c.Organization == "" || len(c.Organization) > 64 {
		return fmt.Errorf("%w: organization must be 1..64 characters", ErrBadConfig)
	}
	if c.Operator != "" {
		if _, err := ident.ParseMember(c.Operator, c.Instance); err != nil {
			return fmt.Errorf("%w: operator: %v", ErrBadConfig, err)
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: public URL %q must be http(s)://host[:port]", ErrBadConfig, c.PublicURL)
		}
	}
	if c.IntermediateValidity > c.RootValidity || c.IntermediateValidity < Duration(day) {
		return fmt.Errorf("%w: intermediate validity must be at least a day and no longer than the root's", ErrBadConfig)
	}
	if c.CRLValidity < Duration(time.Minute) || c.OCSPValidity < Duration(time.Minute) {
		return fmt.Errorf("%w: CRL and OCSP validity must be at least a minute", ErrBadConfig)
	}
	return nil
}
