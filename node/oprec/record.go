package oprec

import (
	"strconv"
	"time"
)

// Roles of a Record.
const (
	RoleConsumer = "consumer" // this node called out for one of its information systems
	RoleProvider = "provider" // this node served a call from a remote node
	// A document delivery's sides (Event set): this node sent the
	// document for one of its information systems, or received it.
	RoleSender    = "sender"
	RoleRecipient = "recipient"
)

// Record is the metadata of one call, or of one event of a document
// delivery (Event set; RequestID is the document ID, Client the sender,
// Service the recipient, "" for submitted, RequestBytes the content
// size, Duration the time since submission). It never holds a body or a
// header value (R-L2).
type Record struct {
	RequestID     string        `json:"request_id"`
	Start         time.Time     `json:"start"`
	Duration      time.Duration `json:"duration_ns"`
	Role          string        `json:"role"`                 // RoleConsumer or RoleProvider
	Client        string        `json:"client"`               // subsystem ID INSTANCE/CLASS/MEMBER/SUBSYSTEM
	Service       string        `json:"service"`              // service ID
	CallerIP      string        `json:"caller_ip,omitempty"`  // consumer: the IS's address; provider: the remote node's
	Status        int           `json:"status"`               // HTTP status returned
	ErrorCode     string        `json:"error_code,omitempty"` // exchange-layer error code, "" when the provider answered
	RequestBytes  int64         `json:"request_bytes"`
	ResponseBytes int64         `json:"response_bytes"`
	ConsumerPeer  string        `json:"consumer_peer"`
	ProviderPeer  string        `json:"provider_peer"`
	// Event of a delivery: submitted, stored, acknowledged,
	// undeliverable or expired; "" for a call.
	Event string `json:"event,omitempty"`
}

// Kind is Role, with "/" and the Event for a delivery record: the role
// column of CSV exports and reports.
func (r *Record) Kind() string {
	if r.Event == "" {
		return r.Role
	}
	return r.Role + "/" + r.Event
}

// Failed reports whether the record counts as an error in statistics and
// metrics: the exchange layer reported an error code, or the returned
// status is 5xx. A 4xx answered by the provider's backend is a completed
// call, not an exchange error.
func (r *Record) Failed() bool { return r.ErrorCode != "" || r.Status >= 500 }

// Filter selects records for Query. Zero fields match everything. From is
// inclusive and To exclusive.
type Filter struct {
	From, To       time.Time
	Role           string // RoleConsumer, RoleProvider or ""
	Client         string // exact client subsystem ID
	Service        string // exact service ID
	ClientMember   string // INSTANCE/CLASS/MEMBER of the client
	ProviderMember string // INSTANCE/CLASS/MEMBER of the service
	ErrorCode      string // exact error code
	Status         int    // exact HTTP status
	Limit          int    // default DefaultLimit, at most MaxLimit (larger values are capped)
	Cursor         string // next from a previous Query, "" for the first page
}

// Query limits.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
	// MaxScan is how many records one Query call examines at most.
	MaxScan = 200000
)

func (f *Filter) match(r *Record) bool {
	return (f.Role == "" || r.Role == f.Role) &&
		(f.Client == "" || r.Client == f.Client) &&
		(f.Service == "" || r.Service == f.Service) &&
		(f.ClientMember == "" || Member(r.Client) == f.ClientMember) &&
		(f.ProviderMember == "" || Member(r.Service) == f.ProviderMember) &&
		(f.ErrorCode == "" || r.ErrorCode == f.ErrorCode) &&
		(f.Status == 0 || r.Status == f.Status)
}

// MemberStats counts one member's calls on one UTC day (R-L6). Member is
// the client's member: for calls this node made (RoleConsumer), the member
// whose information system called; for calls it served (RoleProvider), the
// member it served. Errors counts failed calls of either role (see
// Record.Failed).
type MemberStats struct {
	Day    string `json:"day"` // YYYY-MM-DD, UTC
	Member string `json:"member"`
	Made   int64  `json:"made"`
	Served int64  `json:"served"`
	Errors int64  `json:"errors"`
}

// HealthSample is one level-2 health check of a served service (R-M1,
// R-L4).
type HealthSample struct {
	Time       time.Time `json:"time"`
	Service    string    `json:"service"`
	Status     string    `json:"status"`
	HTTPStatus int       `json:"http_status"`
	LatencyMS  int64     `json:"latency_ms"`
	Error      string    `json:"error,omitempty"`
}

// Member returns the member part of a subsystem or service ID: its first
// three '/'-separated parts. An ID with fewer parts is returned unchanged.
func Member(id string) string {
	n := 0
	for i := 0; i < len(id); i++ {
		if id[i] == '/' {
			n++
			if n == 3 {
				return id[:i]
			}
		}
	}
	return id
}

// day returns t's UTC date as YYYY-MM-DD.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func statusClass(status int) int {
	if status >= 100 && status < 600 {
		return status / 100
	}
	return 0
}

var statusClasses = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// errorLabel is the code label of a failed record.
func errorLabel(r *Record) string {
	if r.ErrorCode != "" {
		return r.ErrorCode
	}
	return "http_" + strconv.Itoa(r.Status)
}
