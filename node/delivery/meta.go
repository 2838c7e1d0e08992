package delivery

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dxl-network/dxl/internal/jsonin"
	"github.com/dxl-network/dxl/node/envelope"
	"github.com/dxl-network/dxl/services"
)

// Size caps of metadata.
const (
	MaxMeta       = 16 << 10 // encoded metadata (JSON), signed or received
	MaxRecipients = 64
	MaxTitle      = 1024 // bytes of UTF-8
	MaxDataType   = 128
	MaxFormat     = 128
	MaxPriority   = 9
)

// Signature prefixes (envelope.SignDetached): a document's metadata and a
// receipt.
const (
	DocumentPrefix = "DXL-DELIVERY-DOCUMENT-v1\x00"
	ReceiptPrefix  = "DXL-DELIVERY-RECEIPT-v1\x00"
)

// Meta is a document's metadata, signed by the sender member. Size and
// SHA256 bind the content.
type Meta struct {
	ID         string    `json:"id"` // UUID version 4
	Sender     string    `json:"sender"`
	Recipients []string  `json:"recipients"`
	Title      string    `json:"title"`
	DataType   string    `json:"data_type"`
	Format     string    `json:"format,omitempty"` // media type or protocol of the content
	Priority   int       `json:"priority"`         // 0 (lowest) .. 9; higher goes first
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires,omitzero"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"` // hex
}

// Validate checks every field (not against the configuration).
func (m *Meta) Validate() error {
	if id, err := envelope.ParseRequestID(m.ID); err != nil || id.String() != m.ID {
		return fmt.Errorf("%w: document ID %.64q is not a UUID version 4 in lower case", ErrBadMeta, m.ID)
	}
	if _, err := services.ParseSubsystemID(m.Sender); err != nil {
		return fmt.Errorf("%w: sender: %v", ErrBadMeta, err)
	}
	if len(m.Recipients) == 0 || len(m.Recipients) > MaxRecipients {
		return fmt.Errorf("%w: %d recipients (1..%d)", ErrBadMeta, len(m.Recipients), MaxRecipients)
	}
	for i, r := range m.Recipients {
		if _, err := services.ParseSubsystemID(r); err != nil {
			return fmt.Errorf("%w: recipient %q: %v", ErrBadMeta, r, err)
		}
		if slices.Contains(m.Recipients[:i], r) {
			return fmt.Errorf("%w: recipient %s given twice", ErrBadMeta, r)
		}
	}
	if err := checkText("title", m.Title, MaxTitle, false); err != nil {
		return err
	}
	if err := checkText("data_type", m.DataType, MaxDataType, false); err != nil {
		return err
	}
	if err := checkText("format", m.Format, MaxFormat, true); err != nil {
		return err
	}
	if m.Priority < 0 || m.Priority > MaxPriority {
		return fmt.Errorf("%w: priority %d (0..%d)", ErrBadMeta, m.Priority, MaxPriority)
	}
	if m.Created.IsZero() || (!m.Expires.IsZero() && !m.Expires.After(m.Created)) {
		return fmt.Errorf("%w: expiry must be after creation", ErrBadMeta)
	}
	if m.Size < 0 {
		return fmt.Errorf("%w: negative size", ErrBadMeta)
	}
	if b, err := hex.DecodeString(m.SHA256); err != nil || len(b) != 32 {
		return fmt.Errorf("%w: sha256 must be 64 hex digits", ErrBadMeta)
	}
	return nil
}

// checkText refuses invalid UTF-8, control characters and over-long text.
func checkText(what, s string, maxLen int, allowEmpty bool) error {
	if s == "" && !allowEmpty {
		return fmt.Errorf("%w: %s is required", ErrBadMeta, what)
	}
	if len(s) > maxLen || !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s must be UTF-8 of at most %d bytes", ErrBadMeta, what, maxLen)
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s holds a control character", ErrBadMeta, what)
		}
	}
	return nil
}

// DecodeMeta decodes and checks signed metadata bytes.
func DecodeMeta(b []byte) (*Meta, error) {
	if len(b) > MaxMeta {
		return nil, fmt.Errorf("%w: %d bytes (max %d)", ErrMetaTooBig, len(b), MaxMeta)
	}
	var m Meta
	if err := jsonin.Decode(bytes.NewReader(b), &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMeta, err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Submission is what an information system asks for: the metadata but
// the fields the node fills in (sender, creation, size, hash).
type Submission struct {
	ID         string // "" : the node generates one
	Recipients []string
	Title      string
	DataType   string
	Format     string
	Priority   int
	Expires    time.Time
}

// ParseSubmission reads a submission from the query of POST
// /dxl/documents: recipient (repeated, or comma-separated), title, type,
// format, priority, expires (RFC 3339) or ttl (a Go duration), id. id may
// also come as the X-DXL-Document-ID header (passed as headerID).
func ParseSubmission(q url.Values, headerID string, now time.Time) (*Submission, error) {
	if n := len(q.Encode()); n > MaxMeta {
		return nil, fmt.Errorf("%w: %d bytes of query (max %d)", ErrMetaTooBig, n, MaxMeta)
	}
	known := []string{"recipient", "title", "type", "format", "priority", "expires", "ttl", "id"}
	for k, vs := range q {
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("%w: unknown parameter %.32q", ErrBadMeta, k)
		}
		if k != "recipient" && len(vs) > 1 {
			return nil, fmt.Errorf("%w: %s given %d times", ErrBadMeta, k, len(vs))
		}
	}
	s := &Submission{ID: q.Get("id"), Title: q.Get("title"), DataType: q.Get("type"), Format: q.Get("format")}
	if headerID != "" {
		if s.ID != "" && s.ID != headerID {
			return nil, fmt.Errorf("%w: id and X-DXL-Document-ID differ", ErrBadMeta)
		}
		s.ID = headerID
	}
	for _, v := range q["recipient"] {
		for r := range strings.SplitSeq(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				s.Recipients = append(s.Recipients, r)
			}
		}
	}
	if p := q.Get("priority"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("%w: priority %.16q is not a number", ErrBadMeta, p)
		}
		s.Priority = n
	}
	switch e, ttl := q.Get("expires"), q.Get("ttl"); {
	case e != "" && ttl != "":
		return nil, fmt.Errorf("%w: give expires or ttl, not both", ErrBadMeta)
	case e != "":
		t, err := time.Parse(time.RFC3339, e)
		if err != nil {
			return nil, fmt.Errorf("%w: expires %.40q is not RFC 3339", ErrBadMeta, e)
		}
		s.Expires = t.UTC()
	case ttl != "":
		d, err := time.ParseDuration(ttl)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%w: ttl %.40q is not a positive duration", ErrBadMeta, ttl)
		}
		s.Expires = now.Add(d).UTC()
	}
	return s, nil
}

// Signed is a document's or receipt's signed form: the exact bytes
// signed, the signer's certificate (DER) and the signature.
type Signed struct {
	Body []byte `json:"body"`
	Cert []byte `json:"cert"`
	Sig  []byte `json:"sig"`
}

// Receipt is what a recipient member signs when its information system
// acknowledges a document.
type Receipt struct {
	DocumentID   string    `json:"document_id"`
	Sender       string    `json:"sender"`
	Recipient    string    `json:"recipient"`
	SHA256       string    `json:"sha256"`
	Size         int64     `json:"size"`
	Received     time.Time `json:"received"`     // stored in the inbox
	Acknowledged time.Time `json:"acknowledged"` // by the recipient's information system
	Node         string    `json:"node"`         // the recipient node's peer ID
}

// DecodeReceipt decodes and checks receipt bytes.
func DecodeReceipt(b []byte) (*Receipt, error) {
	if len(b) > MaxMeta {
		return nil, fmt.Errorf("%w: %d-byte receipt (max %d)", ErrMetaTooBig, len(b), MaxMeta)
	}
	var r Receipt
	if err := jsonin.Decode(bytes.NewReader(b), &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadReceipt, err)
	}
	if _, err := envelope.ParseRequestID(r.DocumentID); err != nil {
		return nil, fmt.Errorf("%w: document ID", ErrBadReceipt)
	}
	if _, err := services.ParseSubsystemID(r.Recipient); err != nil {
		return nil, fmt.Errorf("%w: recipient: %v", ErrBadReceipt, err)
	}
	if r.Acknowledged.IsZero() || r.SHA256 == "" {
		return nil, fmt.Errorf("%w: incomplete", ErrBadReceipt)
	}
	return &r, nil
}
