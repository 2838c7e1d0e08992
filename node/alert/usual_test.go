package alert

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestUsualConfig(t *testing.T) {
	for _, c := range []struct {
		u    UsualConfig
		want string
	}{
		{UsualConfig{Hours: "7-19"}, "alerts.usual.hours"},
		{UsualConfig{Hours: "07:00-07:00"}, "alerts.usual.hours"},
		{UsualConfig{Hours: "07:00-19:00", Days: []string{"monday"}}, "alerts.usual.days"},
		{UsualConfig{Hours: "07:00-19:00", Zone: "Asia/Ho_Chi_Minh"}, "alerts.usual.zone"},
		{UsualConfig{VolumeFactor: -1}, "volume_factor"},
	} {
		cfg := Config{Usual: &c.u}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.u, err, c.want)
		}
	}
}

// TestOffHours: in Vietnam's time, working days 07:00-17:30; a call at
// 22:00 or on Sunday raises one off_hours alert per subsystem and hour,
// a call at 09:00 none; the window may span midnight.
func TestOffHours(t *testing.T) {
	vn := time.FixedZone("+07:00", 7*3600)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, vn) // a Monday
	d, err := New(t.Context(), Config{Usual: &UsualConfig{Hours: "07:00-17:30", Days: []string{"mon", "tue", "wed", "thu", "fri"}}},
		"peer", func() time.Time { return now }, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fired := func() float64 { return count(t, d.alerts.WithLabelValues("off_hours")) }
	sys := "VN-TEST/GOV/000.00.00.A01/TUPHAP"
	d.Call("provider", sys, now)
	d.Call("provider", sys, now.Add(8*time.Hour+29*time.Minute)) // 17:29
	if fired() != 0 {
		t.Fatalf("within hours: %v alerts", fired())
	}
	d.Call("provider", sys, now.Add(13*time.Hour))             // 22:00
	d.Call("provider", sys, now.Add(13*time.Hour+time.Minute)) // the same hour: no second alert
	d.Call("consumer", sys, now.Add(13*time.Hour))             // the other side is its own key
	if fired() != 2 {
		t.Fatalf("at 22:00: %v alerts, want 2", fired())
	}
	d.Call("provider", sys, now.Add(6*24*time.Hour)) // Sunday 09:00
	if fired() != 3 {
		t.Fatalf("on Sunday: %v alerts, want 3", fired())
	}
	night, err := (&UsualConfig{Hours: "22:00-06:00"}).compile()
	if err != nil || !night.within(time.Date(2026, 12, 7, 23, 0, 0, 0, vn)) || !night.within(time.Date(2026, 12, 7, 5, 0, 0, 0, vn)) ||
		night.within(time.Date(2026, 12, 7, 12, 0, 0, 0, vn)) {
		t.Fatalf("a window over midnight: %v", err)
	}
}

// TestVolume: after three hours of about 20 calls, an hour past 5 × 20
// and past volume_min raises one volume alert; hours without calls do not
// lower the usual volume.
func TestVolume(t *testing.T) {
	start := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	d, err := New(t.Context(), Config{Usual: &UsualConfig{VolumeFactor: 5, VolumeMin: 50}}, "peer", nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fired := func() float64 { return count(t, d.alerts.WithLabelValues("volume")) }
	sys := "VN-TEST/GOV/000.00.00.A01/TUPHAP"
	calls := func(hour, n int) {
		for i := range n {
			d.Call("consumer", sys, start.Add(time.Duration(hour)*time.Hour+time.Duration(i)*time.Second))
		}
	}
	calls(0, 20)
	calls(1, 22)
	calls(2, 18)
	calls(3, 90) // 4.5 × the usual: not yet
	if fired() != 0 {
		t.Fatalf("within 5 × usual: %v alerts", fired())
	}
	calls(40, 20)  // a day and a half idle, then a usual hour
	calls(41, 200) // far above
	if fired() != 1 {
		t.Fatalf("200 calls after an idle night: %v alerts, want 1", fired())
	}
}
