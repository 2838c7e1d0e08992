package alert

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// UsualConfig is node.json's alerts.usual: calls outside a subsystem's
// usual hours, or an hour with far more calls than its usual volume,
// raise an alert (R-K4). Both sides are watched: the node's own
// information systems' calls and other members' calls to its services.
type UsualConfig struct {
	// Hours is the working window, "HH:MM-HH:MM" in Zone ("" is off);
	// Days the days it holds ("mon".."sun"; none: every day). A call
	// outside raises one "off_hours" alert per subsystem and hour.
	Hours string   `json:"hours,omitempty"`
	Days  []string `json:"days,omitempty"`
	// Zone is the UTC offset of Hours, e.g. "+07:00" (default, Vietnam).
	Zone string `json:"zone,omitempty"`
	// VolumeFactor, when > 0, raises one "volume" alert per subsystem and
	// hour when the hour's calls pass VolumeFactor times the subsystem's
	// usual hourly calls (learned from the past hours it called in, after
	// three) and
	// VolumeMin (default 100).
	VolumeFactor float64 `json:"volume_factor,omitempty"`
	VolumeMin    int     `json:"volume_min,omitempty"`
}

// usual is a compiled UsualConfig.
type usual struct {
	from, to time.Duration // since midnight in zone; to < from spans midnight
	hours    bool
	days     [7]bool
	zone     *time.Location
	factor   float64
	min      int
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// compile checks c and returns its rules (nil when nothing is watched).
func (c *UsualConfig) compile() (*usual, error) {
	if c == nil || (c.Hours == "" && c.VolumeFactor == 0) {
		return nil, nil
	}
	u := &usual{factor: c.VolumeFactor, min: c.VolumeMin, zone: time.FixedZone("+07:00", 7*3600)}
	if u.min == 0 {
		u.min = 100
	}
	if c.VolumeFactor < 0 || c.VolumeFactor > 1000 || u.min < 1 {
		return nil, fmt.Errorf("alerts.usual: volume_factor between 0 and 1000, volume_min at least 1")
	}
	if c.Zone != "" {
		t, err := time.Parse("-07:00", c.Zone)
		if err != nil {
			return nil, fmt.Errorf("alerts.usual.zone %q: a UTC offset such as +07:00", c.Zone)
		}
		_, off := t.Zone()
		u.zone = time.FixedZone(c.Zone, off)
	}
	if c.Hours != "" {
		var err error
		if u.from, u.to, err = parseHours(c.Hours); err != nil {
			return nil, err
		}
		u.hours = true
	}
	for i := range u.days {
		u.days[i] = len(c.Days) == 0
	}
	for _, d := range c.Days {
		i := slices.Index(dayNames, strings.ToLower(d))
		if i < 0 {
			return nil, fmt.Errorf("alerts.usual.days: %q is not mon, tue, wed, thu, fri, sat or sun", d)
		}
		u.days[i] = true
	}
	return u, nil
}

// parseHours reads "HH:MM-HH:MM".
func parseHours(s string) (from, to time.Duration, err error) {
	a, b, ok := strings.Cut(s, "-")
	ta, errA := time.Parse("15:04", strings.TrimSpace(a))
	tb, errB := time.Parse("15:04", strings.TrimSpace(b))
	if !ok || errA != nil || errB != nil || ta.Equal(tb) {
		return 0, 0, fmt.Errorf("alerts.usual.hours %q: want HH:MM-HH:MM, e.g. 07:00-19:00", s)
	}
	since := func(t time.Time) time.Duration {
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	return since(ta), since(tb), nil
}

// within reports whether t is inside the usual hours and days.
func (u *usual) within(t time.Time) bool {
	l := t.In(u.zone)
	if !u.days[l.Weekday()] {
		return false
	}
	at := time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute
	if u.from < u.to {
		return at >= u.from && at < u.to
	}
	return at >= u.from || at < u.to
}

// volume is one subsystem's calls: this hour's, and its usual hourly
// calls (an exponentially weighted mean of its past hours).
type volume struct {
	hour         time.Time
	count, hours int
	mean         float64
	offFired     time.Time // hour of the last off-hours alert
	volFired     time.Time // hour of the last volume alert
}

// Call notes one call of subsystem at t on role's side ("consumer":
// this node's own system; "provider": another member's, to this node's
// services) and raises the usual-hours and volume alerts.
func (d *Detector) Call(role, subsystem string, t time.Time) {
	if d == nil || d.usual == nil || subsystem == "" {
		return
	}
	hour := t.Truncate(time.Hour)
	key := role + " " + subsystem
	d.mu.Lock()
	v := d.volumes[key]
	if v == nil {
		if len(d.volumes) >= MaxKeys {
			d.mu.Unlock()
			return
		}
		v = &volume{hour: hour}
		d.volumes[key] = v
	}
	if hour.After(v.hour) { // a new hour: the last one joins the mean
		v.mean, v.hours = ewma(v.mean, v.count, v.hours), v.hours+1
		v.hour, v.count = hour, 0
	}
	v.count++
	off := d.usual.hours && !d.usual.within(t) && !v.offFired.Equal(hour)
	if off {
		v.offFired = hour
	}
	u := d.usual
	vol := u.factor > 0 && v.hours >= 3 && v.count > u.min && float64(v.count) > u.factor*v.mean && !v.volFired.Equal(hour)
	if vol {
		v.volFired = hour
	}
	count, mean := v.count, v.mean
	d.mu.Unlock()
	if off {
		d.raise(Alert{Kind: "off_hours", Key: subsystem, Code: role, Count: count, Window: "1h0m0s", At: t.UTC(), Node: d.node})
	}
	if vol {
		d.raise(Alert{Kind: "volume", Key: subsystem, Code: role, Count: count, Window: fmt.Sprintf("1h0m0s, usual %.0f", mean), At: t.UTC(), Node: d.node})
	}
}

// ewma folds count (an hour the subsystem called in) into mean over the
// n such hours before it. Hours without a call do not count: a system
// idle at night is not "usually" idle in the morning.
func ewma(mean float64, count, n int) float64 {
	const w = 0.2
	if n == 0 {
		return float64(count)
	}
	return (1-w)*mean + w*float64(count)
}
