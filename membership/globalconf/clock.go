package globalconf

import (
	"net/http"
	"time"
)

// ServerClock is a registry server's clock as its last answer's Date
// header showed it (one-second resolution): Offset is our clock at the
// middle of the exchange minus that Date.
type ServerClock struct {
	Server string
	Offset time.Duration
}

// LastServerClock returns the clock of the server that answered last, and
// false before any answer with a Date header.
func (c *Client) LastServerClock() (ServerClock, bool) {
	c.clockMu.Lock()
	defer c.clockMu.Unlock()
	return c.clock, c.clock.Server != ""
}

// noteClock records resp's Date against our clock around the exchange
// (the Date is truncated to the second: half a second is added).
func (c *Client) noteClock(base string, resp *http.Response, sent, received time.Time) {
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	c.clockMu.Lock()
	c.clock = ServerClock{Server: base, Offset: mid.Sub(date.Add(500 * time.Millisecond))}
	c.clockMu.Unlock()
}
