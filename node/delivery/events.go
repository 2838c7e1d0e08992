package delivery

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Event is what an information system's stream announces: a document
// waiting in its inbox ("document"), or news of one it sent
// ("delivered", "receipt", "undeliverable", "expired").
type Event struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	Sender    string `json:"sender,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	Title     string `json:"title,omitempty"`
	DataType  string `json:"data_type,omitempty"`
	Priority  int    `json:"priority,omitempty"`
	Size      int64  `json:"size,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// eventBuffer is how many events wait for a slow stream before newer
// ones are dropped for it (it then lists the inbox or the status).
const eventBuffer = 256

// heartbeat is the interval of SSE comments that keep a quiet stream open
// through proxies.
const heartbeat = 20 * time.Second

// broker fans events out to the streams open per subsystem. Events are
// announcements, not the record: a stream that was not open, or fell
// behind, learns the state from GET /dxl/inbox and /dxl/documents/{id}.
type broker struct {
	mu   sync.Mutex
	subs map[string]map[chan Event]struct{}
}

func newBroker() *broker { return &broker{subs: map[string]map[chan Event]struct{}{}} }

func (b *broker) subscribe(sub string) chan Event {
	ch := make(chan Event, eventBuffer)
	b.mu.Lock()
	if b.subs[sub] == nil {
		b.subs[sub] = map[chan Event]struct{}{}
	}
	b.subs[sub][ch] = struct{}{}
	b.mu.Unlock()
	return ch
}

func (b *broker) unsubscribe(sub string, ch chan Event) {
	b.mu.Lock()
	delete(b.subs[sub], ch)
	if len(b.subs[sub]) == 0 {
		delete(b.subs, sub)
	}
	b.mu.Unlock()
}

func (b *broker) publish(sub string, e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs[sub] {
		select {
		case ch <- e:
		default: // a stream that fell behind misses it
		}
	}
}

// events serves GET /dxl/events: server-sent events for the calling
// information system, until it disconnects.
func (s *Service) serveEvents(w http.ResponseWriter, r *http.Request, sub string) {
	rc := http.NewResponseController(w)
	// A stream lives longer than a call: neither the API's write timeout
	// nor its read timeout applies to it.
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	ch := s.events.subscribe(sub)
	defer s.events.unsubscribe(sub, ch)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": dxl delivery events\n\n")
	_ = rc.Flush()
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
			_, _ = fmt.Fprint(w, ": ping\n\n")
		case e := <-ch:
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, b); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// publish announces e to sub's streams and webhook.
func (s *Service) publish(sub string, e Event) {
	s.events.publish(sub, e)
	s.notify(sub, e)
}
