package delivery

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// State is where a document stands for one recipient.
type State string

// The per-recipient states on the sender's node. Queued and InFlight
// repeat until the recipient node has stored the document (Delivered),
// then its receipt comes back (Acknowledged). Undeliverable, Cancelled
// and Expired end a recipient's delivery without it.
const (
	Queued        State = "queued"
	InFlight      State = "in_flight"
	Delivered     State = "delivered"
	Acknowledged  State = "acknowledged"
	Undeliverable State = "undeliverable"
	Cancelled     State = "cancelled"
	Expired       State = "expired"
)

// Final reports whether no more happens to a recipient in state s.
func (s State) Final() bool {
	return s == Acknowledged || s == Undeliverable || s == Cancelled || s == Expired
}

// Recipient is one recipient's delivery of a document.
type Recipient struct {
	ID        string    `json:"recipient"`
	State     State     `json:"state"`
	Reason    string    `json:"reason,omitempty"` // why undeliverable, or the last failure
	Attempts  int       `json:"attempts"`
	FirstTry  time.Time `json:"first_attempt,omitzero"`
	NextTry   time.Time `json:"next_attempt,omitzero"`
	Delivered time.Time `json:"delivered,omitzero"`
	Acked     time.Time `json:"acknowledged,omitzero"`
	Node      string    `json:"node,omitempty"` // the recipient node that stored it
	Receipt   *Signed   `json:"receipt,omitempty"`
}

// OutDoc is a document in the sender's outbox.
type OutDoc struct {
	Meta        Meta         `json:"meta"`
	Signed      Signed       `json:"signed"` // the signed metadata
	Recipients  []*Recipient `json:"recipients"`
	ContentGone bool         `json:"content_deleted"`
	Updated     time.Time    `json:"updated"`
}

// recipient returns the delivery to id, or nil.
func (d *OutDoc) recipient(id string) *Recipient {
	for _, r := range d.Recipients {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Done reports whether every recipient's delivery has ended.
func (d *OutDoc) Done() bool {
	for _, r := range d.Recipients {
		if !r.State.Final() {
			return false
		}
	}
	return true
}

// contentNeeded reports whether a recipient may still need the content.
func (d *OutDoc) contentNeeded() bool {
	for _, r := range d.Recipients {
		if r.State == Queued || r.State == InFlight {
			return true
		}
	}
	return false
}

// Policy is the sender's retry policy.
type Policy struct {
	// MinBackoff and MaxBackoff bound the wait between attempts to one
	// recipient; it doubles from MinBackoff, with jitter (±25%).
	MinBackoff, MaxBackoff time.Duration
	// Undeliverable is how long a recipient may stay unreachable from the
	// first attempt before it is reported undeliverable (R-D3).
	Undeliverable time.Duration
}

// backoff is the wait before attempt n+1 (n ≥ 1), with jitter.
func (p Policy) backoff(n int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	j := time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
	return max(d+j, time.Millisecond)
}

// sweep ends the deliveries that expired or stayed unreachable too long
// (before any attempt is made at now); it returns those it ended.
func (p Policy) sweep(d *OutDoc, now time.Time) []*Recipient {
	var changed []*Recipient
	for _, r := range d.Recipients {
		if r.State != Queued {
			continue
		}
		switch {
		case !d.Meta.Expires.IsZero() && !now.Before(d.Meta.Expires):
			r.State, r.Reason = Expired, "expired at "+d.Meta.Expires.Format(time.RFC3339)
			changed = append(changed, r)
		case r.Attempts > 0 && p.Undeliverable > 0 && now.Sub(r.FirstTry) >= p.Undeliverable:
			r.State = Undeliverable
			r.Reason = fmt.Sprintf("unreachable for %s: %s", now.Sub(r.FirstTry).Truncate(time.Second), r.Reason)
			changed = append(changed, r)
		}
	}
	return changed
}

// failed records a failed attempt at now: queued again after a backoff,
// or undeliverable when permanent.
func (p Policy) failed(r *Recipient, now time.Time, reason string, permanent bool) {
	if r.State.Final() {
		return
	}
	r.Reason = reason
	if permanent {
		r.State = Undeliverable
		return
	}
	r.State = Queued
	r.NextTry = now.Add(p.backoff(r.Attempts))
}

// due is one recipient's delivery ready for an attempt.
type due struct {
	doc       string
	recipient string
	priority  int
	created   time.Time
}

// dueOf lists d's recipients due at now.
func dueOf(d *OutDoc, now time.Time) []due {
	var out []due
	for _, r := range d.Recipients {
		if r.State == Queued && !now.Before(r.NextTry) {
			out = append(out, due{doc: d.Meta.ID, recipient: r.ID, priority: d.Meta.Priority, created: d.Meta.Created})
		}
	}
	return out
}

// cmpDue orders by priority (highest first), then by age (oldest first).
func cmpDue(a, b due) int {
	if a.priority != b.priority {
		return b.priority - a.priority
	}
	return a.created.Compare(b.created)
}

// cancel cancels the deliveries of d not yet stored by a recipient node
// (recipient "" : all). It refuses when nothing could be cancelled.
func cancel(d *OutDoc, recipient string) error {
	n := 0
	for _, r := range d.Recipients {
		if recipient != "" && r.ID != recipient {
			continue
		}
		if r.State == Queued || r.State == InFlight {
			r.State, r.Reason = Cancelled, "cancelled by the sender"
			n++
		}
	}
	if recipient != "" && d.recipient(recipient) == nil {
		return fmt.Errorf("%w: %s is not a recipient of %s", ErrNotFound, recipient, d.Meta.ID)
	}
	if n == 0 {
		return fmt.Errorf("%w: nothing left to cancel (already delivered or ended)", ErrState)
	}
	return nil
}

// InState is where a document stands in a recipient node's inbox.
type InState string

// Inbox states: content arriving, waiting for the information system,
// acknowledged by it (content deleted, receipt signed).
const (
	Receiving InState = "receiving"
	Waiting   InState = "waiting"
	Acked     InState = "acknowledged"
)

// InDoc is a document in a recipient node's inbox, for one recipient.
type InDoc struct {
	Meta       Meta      `json:"meta"`
	Signed     Signed    `json:"signed"`
	Recipient  string    `json:"recipient"`
	State      InState   `json:"state"`
	SenderNode string    `json:"sender_node"`
	Received   time.Time `json:"received,omitzero"`
	Acked      time.Time `json:"acknowledged,omitzero"`
	Receipt    *Signed   `json:"receipt,omitempty"`
	// ReceiptSent: the sender's node stored the receipt. Until then it is
	// retried with ReceiptTries and ReceiptNext.
	ReceiptSent  bool      `json:"receipt_sent,omitempty"`
	ReceiptTries int       `json:"receipt_attempts,omitempty"`
	ReceiptNext  time.Time `json:"receipt_next,omitzero"`
}
