package state

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dxl-network/dxl/internal/ident"
)

// Classification is a data classification level (R-A1, R-K1).
type Classification = ident.Classification

// Classification levels, lowest first. Top secret data may not travel over
// DXL; a registration that declares it is refused.
const (
	ClassPublic    = ident.ClassPublic
	ClassInternal  = ident.ClassInternal
	ClassSecret    = ident.ClassSecret
	ClassTopSecret = ident.ClassTopSecret
)

// ExchangeMethod is how a catalogue row is shared.
type ExchangeMethod string

// Exchange methods (Form 01).
const (
	MethodAPI  ExchangeMethod = "api"
	MethodSync ExchangeMethod = "sync"
)

// Registration is what a prospective member submits: the Form 01 fields
// (R-A1) and the Form 02 security commitment (R-A2). One registration
// admits one member with one information system (subsystem) and one node.
type Registration struct {
	Unit             Unit    `json:"unit"`
	Representative   Person  `json:"representative"`
	TechnicalContact Contact `json:"technical_contact"`
	System           System  `json:"system"`
	// SecurityLevel is the system's level under Decree 85/2016, 1..5;
	// SecurityApprovalDoc is the code of the document approving it.
	SecurityLevel       int    `json:"security_level"`
	SecurityApprovalDoc string `json:"security_approval_doc"`
	// HighestClassification is the most sensitive data the system will
	// exchange; top_secret is refused.
	HighestClassification Classification `json:"highest_classification"`
	// ConnectionOption is the proposed way of connecting (own node, hosted
	// node, …), free text.
	ConnectionOption string     `json:"connection_option"`
	DataCatalogue    []DataRow  `json:"data_catalogue"`
	Commitment       Commitment `json:"commitment"`
}

// Unit is the applying organisation.
type Unit struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Person is the unit's legal representative.
type Person struct {
	Name  string `json:"name"`
	Title string `json:"title"`
}

// Contact is the technical contact.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// System is the information system (database) to connect; Code becomes the
// subsystem code.
type System struct {
	Code           string `json:"code"`
	Name           string `json:"name"`
	BusinessDomain string `json:"business_domain"`
}

// DataRow is one row of the catalogue of shared data.
type DataRow struct {
	Name              string         `json:"name"`
	Classification    Classification `json:"classification"`
	Frequency         string         `json:"frequency"`
	Method            ExchangeMethod `json:"method"`
	PlannedConnection string         `json:"planned_connection"` // YYYY-MM-DD
	Purpose           string         `json:"purpose"`
}

// Commitment is the Form 02 security commitment, recorded with the request.
type Commitment struct {
	SignerName     string `json:"signer_name"`
	SignerTitle    string `json:"signer_title"`
	SignerIDNumber string `json:"signer_id_number"`
	Date           string `json:"date"` // YYYY-MM-DD
}

// Limits on a registration.
const (
	MaxText        = 256
	maxLongText    = 2048
	maxCatalogRows = 500
	dateLayout     = "2006-01-02"
)

// Clone returns a deep copy of Registration.
func (r Registration) Clone() Registration {
	r.DataCatalogue = slices.Clone(r.DataCatalogue)
	return r
}

// Validate checks the form. It is pure (no clock, no I/O), so Apply may call
// it as well as the proposer.
func (r Registration) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRegistration, fmt.Sprintf(format, a...))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"unit.name", r.Unit.Name, MaxText},
		{"unit.address", r.Unit.Address, maxLongText},
		{"representative.name", r.Representative.Name, MaxText},
		{"representative.title", r.Representative.Title, MaxText},
		{"technical_contact.name", r.TechnicalContact.Name, MaxText},
		{"technical_contact.phone", r.TechnicalContact.Phone, 32},
		{"technical_contact.email", r.TechnicalContact.Email, MaxText},
		{"system.name", r.System.Name, MaxText},
		{"system.business_domain", r.System.BusinessDomain, MaxText},
		{"security_approval_doc", r.SecurityApprovalDoc, MaxText},
		{"connection_option", r.ConnectionOption, maxLongText},
		{"commitment.signer_name", r.Commitment.SignerName, MaxText},
		{"commitment.signer_title", r.Commitment.SignerTitle, MaxText},
		{"commitment.signer_id_number", r.Commitment.SignerIDNumber, 32},
	} {
		if err := checkText(f.v, f.max); err != nil {
			return bad("%s: %v", f.name, err)
		}
	}
	if err := ident.CheckPart(r.System.Code); err != nil {
		return bad("system.code: %v", err)
	}
	if a, err := mail.ParseAddress(r.TechnicalContact.Email); err != nil || a.Address != r.TechnicalContact.Email {
		return bad("technical_contact.email %q is not a plain address", r.TechnicalContact.Email)
	}
	if strings.Trim(r.TechnicalContact.Phone, "+0123456789 ()-.") != "" {
		return bad("technical_contact.phone %q: digits, spaces, + ( ) - . only", r.TechnicalContact.Phone)
	}
	if r.SecurityLevel < 1 || r.SecurityLevel > 5 {
		return bad("security_level %d: want 1..5 (Decree 85/2016)", r.SecurityLevel)
	}
	if err := checkClass(r.HighestClassification); err != nil {
		return fmt.Errorf("highest_classification: %w", err)
	}
	if _, err := time.Parse(dateLayout, r.Commitment.Date); err != nil {
		return bad("commitment.date %q: want YYYY-MM-DD", r.Commitment.Date)
	}
	if len(r.DataCatalogue) > maxCatalogRows {
		return bad("data_catalogue has %d rows, limit %d", len(r.DataCatalogue), maxCatalogRows)
	}
	for i, row := range r.DataCatalogue {
		for _, f := range []struct{ name, v string }{
			{"name", row.Name}, {"frequency", row.Frequency}, {"purpose", row.Purpose},
		} {
			if err := checkText(f.v, MaxText); err != nil {
				return bad("data_catalogue[%d].%s: %v", i, f.name, err)
			}
		}
		if err := checkClass(row.Classification); err != nil {
			return fmt.Errorf("data_catalogue[%d].classification: %w", i, err)
		}
		if row.Classification.Rank() > r.HighestClassification.Rank() {
			return bad("data_catalogue[%d] is %s, above the declared highest classification %s", i, row.Classification, r.HighestClassification)
		}
		if row.Method != MethodAPI && row.Method != MethodSync {
			return bad("data_catalogue[%d].method %q: want api or sync", i, row.Method)
		}
		if _, err := time.Parse(dateLayout, row.PlannedConnection); err != nil {
			return bad("data_catalogue[%d].planned_connection %q: want YYYY-MM-DD", i, row.PlannedConnection)
		}
	}
	return nil
}

func checkClass(c Classification) error {
	switch c {
	case ClassTopSecret:
		return ErrClassificationRefused
	case ClassPublic, ClassInternal, ClassSecret:
		return nil
	}
	return fmt.Errorf("%w: classification %q: want public, internal or secret", ErrInvalidRegistration, c)
}

// checkText requires 1..max bytes of valid UTF-8 without control characters.
func checkText(s string, max int) error {
	if s == "" {
		return fmt.Errorf("required")
	}
	if len(s) > max {
		return fmt.Errorf("%d bytes, limit %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}
