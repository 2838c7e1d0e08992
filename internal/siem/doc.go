// Package siem exports audit and security events to the operator's log
// store and SOC (R-L1): as syslog messages (RFC 5424, over TLS with
// octet-counting framing, RFC 5425) to a collector such as rsyslog, and as
// JSON lines to a file. Emit never blocks the caller: events wait in a
// bounded queue for one sender goroutine, which reconnects with backoff
// and retries the message it holds; when the queue is full an event is
// dropped and counted (dxl_siem_dropped_total). Events carry names and
// outcomes, never a secret or a message body.
package siem
