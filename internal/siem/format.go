package siem

import (
	"fmt"
	"strings"
	"time"
)

// Severity is a syslog severity (RFC 5424 §6.2.1).
type Severity int

// Severities used by DXL.
const (
	Error   Severity = 3
	Warning Severity = 4
	Notice  Severity = 5
	Info    Severity = 6
)

// facility is "security/authorization messages" (RFC 5424 code 10,
// authpriv).
const facility = 10

// sdID is DXL's structured-data element (an enterprise-style SD-ID).
const sdID = "dxl@32473"

// Event is one audit or security event.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`   // "audit" (an admin action) or "security" (a refusal, a failure)
	Action   string    `json:"action"` // e.g. "credential.create", "token.failure"
	Actor    string    `json:"actor,omitempty"`
	Target   string    `json:"target,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Source   string    `json:"source,omitempty"` // the node's member or the registry server's ID
	Severity Severity  `json:"severity"`
}

// FormatRFC5424 is ev as a syslog message (RFC 5424): header, DXL's
// structured data, and a readable message.
func FormatRFC5424(ev Event, host, app string, pid int) []byte {
	ts := ev.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	var sd strings.Builder
	sd.WriteString("[" + sdID)
	for _, kv := range [][2]string{{"kind", ev.Kind}, {"action", ev.Action}, {"actor", ev.Actor}, {"target", ev.Target}, {"source", ev.Source}} {
		if kv[1] != "" {
			fmt.Fprintf(&sd, ` %s="%s"`, kv[0], sdEscape(kv[1]))
		}
	}
	sd.WriteString("]")
	msg := ev.Action
	if ev.Target != "" {
		msg += " " + ev.Target
	}
	if ev.Actor != "" {
		msg += " by " + ev.Actor
	}
	if ev.Detail != "" {
		msg += ": " + ev.Detail
	}
	return fmt.Appendf(nil, "<%d>1 %s %s %s %d %s %s %s",
		facility*8+int(ev.Severity), ts, field(host, 255), field(app, 48), pid, field(ev.Action, 32), sd.String(), clean(msg))
}

// sdEscape escapes a PARAM-VALUE (RFC 5424 §6.3.3).
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(clean(s))
}

// field is a header field: printable US-ASCII without spaces, capped,
// "-" when empty.
func field(s string, max int) string {
	b := []byte(s)
	out := b[:0]
	for _, c := range b {
		if c > 32 && c < 127 {
			out = append(out, c)
		}
	}
	if len(out) > max {
		out = out[:max]
	}
	if len(out) == 0 {
		return "-"
	}
	return string(out)
}

// clean replaces control characters (a line break would split a message
// in a file sink).
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || r == 127 {
			return ' '
		}
		return r
	}, s)
}
