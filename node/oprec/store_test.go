package oprec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fixture is 40 records: consumer calls from A and B to C's service and
// provider calls served to B and C, some failed.
func fixture() []Record {
	var out []Record
	for i := range 40 {
		var r Record
		switch i % 4 {
		case 0:
			r = rec(i, RoleConsumer, memA+"/app", memC+"/reg/getPerson", 200, "")
		case 1:
			r = rec(i, RoleConsumer, memB+"/app", memC+"/reg/getPerson", 502, "provider_unreachable")
		case 2:
			r = rec(i, RoleProvider, memB+"/app", memA+"/hr/list", 200, "")
		case 3:
			r = rec(i, RoleProvider, memC+"/portal", memA+"/hr/list", 404, "")
		}
		out = append(out, r)
	}
	return out
}

func TestAddFlushQuery(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	recs := fixture()
	// Add out of order: the store orders by start.
	for i := len(recs) - 1; i >= 0; i-- {
		s.Add(recs[i])
	}
	flush(t, s)

	got := queryAll(t, s, Filter{Limit: MaxLimit})
	if len(got) != len(recs) {
		t.Fatalf("got %d records, want %d", len(got), len(recs))
	}
	for i := range recs {
		want := recs[i]
		if !got[i].Start.Equal(want.Start) {
			t.Fatalf("record %d start %v, want %v", i, got[i].Start, want.Start)
		}
		got[i].Start = want.Start
		if got[i] != want {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, got[i], want)
		}
	}

	tests := []struct {
		name string
		f    Filter
		want func(r Record) bool
	}{
		{"role consumer", Filter{Role: RoleConsumer}, func(r Record) bool { return r.Role == RoleConsumer }},
		{"client", Filter{Client: memB + "/app"}, func(r Record) bool { return r.Client == memB+"/app" }},
		{"service", Filter{Service: memA + "/hr/list"}, func(r Record) bool { return r.Service == memA+"/hr/list" }},
		{"client member", Filter{ClientMember: memB}, func(r Record) bool { return Member(r.Client) == memB }},
		{"provider member", Filter{ProviderMember: memC}, func(r Record) bool { return Member(r.Service) == memC }},
		{"error code", Filter{ErrorCode: "provider_unreachable"}, func(r Record) bool { return r.ErrorCode == "provider_unreachable" }},
		{"status", Filter{Status: 404}, func(r Record) bool { return r.Status == 404 }},
		{"time range", Filter{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute)}, func(r Record) bool {
			return !r.Start.Before(t0.Add(10*time.Minute)) && r.Start.Before(t0.Add(20*time.Minute))
		}},
		{"combined", Filter{From: t0.Add(5 * time.Minute), Role: RoleProvider, ClientMember: memC}, func(r Record) bool {
			return !r.Start.Before(t0.Add(5*time.Minute)) && r.Role == RoleProvider && Member(r.Client) == memC
		}},
		{"nothing", Filter{Service: "VN/GOV/X/none"}, func(Record) bool { return false }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var want []Record
			for _, r := range recs {
				if tc.want(r) {
					want = append(want, r)
				}
			}
			for _, limit := range []int{0, 1, 3, 7} {
				f := tc.f
				f.Limit = limit
				got := queryAll(t, s, f)
				if !slices.Equal(ids(got), ids(want)) {
					t.Fatalf("limit %d: got %v, want %v", limit, ids(got), ids(want))
				}
			}
		})
	}
}

func TestQueryPagingAcrossRestart(t *testing.T) {
	cfg := testConfig(t, "", nil)
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	recs := fixture()
	for _, r := range recs {
		s.Add(r)
	}
	// Close commits what is queued, without a Flush.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = openTest(t, cfg)
	page, next, err := s.Query(Filter{Limit: 15, Role: RoleConsumer})
	if err != nil || len(page) != 15 || next == "" {
		t.Fatalf("first page: %d records, next %q, err %v", len(page), next, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, cfg)
	rest := queryAll(t, s, Filter{Limit: 15, Role: RoleConsumer, Cursor: next})
	if len(rest) != 5 {
		t.Fatalf("after restart got %d more records, want 5", len(rest))
	}
	all := append(page, rest...)
	for i := 1; i < len(all); i++ {
		if !all[i-1].Start.Before(all[i].Start) {
			t.Fatalf("records out of order at %d: %v then %v", i, all[i-1].Start, all[i].Start)
		}
	}
}

func TestQueryOrderSameStart(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	for _, id := range []string{"c", "a", "b"} {
		r := rec(0, RoleConsumer, memA+"/app", memC+"/s/x", 200, "")
		r.RequestID = id
		s.Add(r)
	}
	r := rec(0, RoleProvider, memA+"/app", memC+"/s/x", 200, "")
	r.RequestID = "a" // same request seen as provider on the same node
	s.Add(r)
	flush(t, s)
	got := queryAll(t, s, Filter{Limit: 1})
	want := []string{"a/consumer", "a/provider", "b/consumer", "c/consumer"}
	if !slices.Equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
}

func TestReAddReplaces(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	r := rec(1, RoleConsumer, memA+"/app", memC+"/s/x", 200, "")
	s.Add(r)
	r.Status, r.ErrorCode = 504, "timeout"
	s.Add(r)
	flush(t, s)
	got, _, err := s.Query(Filter{})
	if err != nil || len(got) != 1 || got[0].ErrorCode != "timeout" {
		t.Fatalf("got %+v, %v; want the one replaced record", got, err)
	}
	st, err := s.Stats(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []MemberStats{{Day: "2026-03-10", Member: memA, Made: 1, Errors: 1}}
	if !slices.Equal(st, want) {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestBadFilter(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	s.Add(rec(1, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	s.Add(rec(2, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	flush(t, s)
	_, good, err := s.Query(Filter{Limit: 1})
	if err != nil || good == "" {
		t.Fatalf("Query: next %q err %v", good, err)
	}
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 0x01
	tests := []struct {
		name string
		f    Filter
	}{
		{"negative limit", Filter{Limit: -1}},
		{"negative status", Filter{Status: -200}},
		{"from after to", Filter{From: t0.Add(time.Hour), To: t0}},
		{"unknown role", Filter{Role: "observer"}},
		{"not base64", Filter{Cursor: "not a cursor!"}},
		{"padding", Filter{Cursor: good + "=="}},
		{"truncated", Filter{Cursor: good[:len(good)-3]}},
		{"flipped", Filter{Cursor: string(flipped)}},
		{"too long", Filter{Cursor: string(make([]byte, maxCursorLen+1))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.Query(tc.f)
			if !errors.Is(err, ErrBadFilter) {
				t.Fatalf("Query err = %v, want ErrBadFilter", err)
			}
			if code, status := Codes.Code(err), Codes.Status(err); code != "bad_filter" || status != 400 {
				t.Fatalf("Code = %q %d", code, status)
			}
		})
	}
	if _, err := s.Stats(t0.Add(time.Hour), t0); !errors.Is(err, ErrBadFilter) {
		t.Fatalf("Stats from after to: %v", err)
	}
	if _, err := s.HealthHistory("", time.Time{}, time.Time{}, -1); !errors.Is(err, ErrBadFilter) {
		t.Fatalf("HealthHistory negative limit: %v", err)
	}
	// Limit above the maximum is capped, not refused.
	if _, _, err := s.Query(Filter{Limit: MaxLimit + 1}); err != nil {
		t.Fatalf("Limit above max: %v", err)
	}
}

func TestStats(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	day1 := time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC)
	day2 := day1.Add(2 * time.Minute) // 2026-03-11 00:01
	add := func(i int, at time.Time, role, client string, status int, code string) {
		r := rec(i, role, client, memC+"/s/x", status, code)
		r.Start = at
		s.Add(r)
	}
	add(1, day1, RoleConsumer, memA+"/app", 200, "")
	add(2, day1, RoleConsumer, memA+"/app2", 502, "provider_unreachable")
	add(3, day1, RoleProvider, memB+"/app", 200, "")
	add(4, day1, RoleProvider, memB+"/app", 500, "")
	add(5, day1, RoleProvider, memB+"/app", 404, "") // answered: not an error
	add(6, day2, RoleConsumer, memA+"/app", 200, "")
	add(7, day2, RoleProvider, memA+"/app", 200, "")
	flush(t, s)

	all, err := s.Stats(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []MemberStats{
		{Day: "2026-03-10", Member: memA, Made: 2, Errors: 1},
		{Day: "2026-03-10", Member: memB, Served: 3, Errors: 1},
		{Day: "2026-03-11", Member: memA, Made: 1, Served: 1},
	}
	if !slices.Equal(all, want) {
		t.Fatalf("Stats:\n got %+v\nwant %+v", all, want)
	}
	// [from, to) overlapping only the second day.
	got, err := s.Stats(day2, day2.Add(time.Hour))
	if err != nil || !slices.Equal(got, want[2:]) {
		t.Fatalf("Stats day 2: %+v %v", got, err)
	}
	// to at midnight excludes the day it starts.
	got, err = s.Stats(day1, time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC))
	if err != nil || !slices.Equal(got, want[:2]) {
		t.Fatalf("Stats day 1: %+v %v", got, err)
	}
}

func TestHealthHistoryAndPrune(t *testing.T) {
	clk := newClock(t0)
	s := openTest(t, testConfig(t, "", clk))
	const svcA, svcB = memA + "/hr/list", memA + "/hr/get"
	// One sample a day for 120 days, for two services; plus a record a day.
	for d := range 120 {
		at := t0.Add(time.Duration(d) * 24 * time.Hour)
		s.AddHealth(HealthSample{Time: at, Service: svcA, Status: "up", HTTPStatus: 200, LatencyMS: int64(d)})
		s.AddHealth(HealthSample{Time: at.Add(time.Hour), Service: svcB, Status: "down", HTTPStatus: 503, Error: "db unreachable"})
		r := rec(d, RoleProvider, memB+"/app", svcA, 200, "")
		r.Start = at
		s.Add(r)
	}
	clk.Set(t0.Add(119*24*time.Hour + 30*time.Minute))
	s.AddHealth(HealthSample{Service: svcA, Status: "up", LatencyMS: 999}) // zero time: now
	flush(t, s)

	h, err := s.HealthHistory(svcA, time.Time{}, time.Time{}, 0)
	if err != nil || len(h) != 121 {
		t.Fatalf("HealthHistory all of A: %d samples, %v", len(h), err)
	}
	if h[0].LatencyMS != 0 || h[0].Service != svcA || !h[0].Time.Equal(t0) {
		t.Fatalf("first sample %+v", h[0])
	}
	if last := h[120]; last.LatencyMS != 999 || !last.Time.Equal(clk.Now()) {
		t.Fatalf("zero-time sample %+v, want time %v", last, clk.Now())
	}
	// Limit keeps the newest, oldest first.
	h, err = s.HealthHistory(svcA, t0, t0.Add(10*24*time.Hour), 3)
	if err != nil || len(h) != 3 || h[0].LatencyMS != 7 || h[2].LatencyMS != 9 {
		t.Fatalf("HealthHistory A days 0-9 limit 3: %+v %v", h, err)
	}
	h, err = s.HealthHistory("", t0, t0.Add(2*24*time.Hour), 0)
	if err != nil || len(h) != 4 || h[0].Service != svcA || h[1].Service != svcB || h[1].Error != "db unreachable" {
		t.Fatalf("HealthHistory every service: %+v %v", h, err)
	}
	h, err = s.HealthHistory("", time.Time{}, time.Time{}, 5)
	if err != nil || len(h) != 5 || !h[4].Time.Equal(t0.Add(119*24*time.Hour+time.Hour)) {
		t.Fatalf("HealthHistory every service, newest 5: %+v %v", h, err)
	}

	// Day 119: health kept for 100 days, so days 0..18 go.
	now := t0.Add(119 * 24 * time.Hour)
	nrec, nhealth, err := s.Prune(now)
	if err != nil || nrec != 0 || nhealth != 2*19 {
		t.Fatalf("Prune: %d records, %d health, %v; want 0, 38", nrec, nhealth, err)
	}
	h, _ = s.HealthHistory(svcB, time.Time{}, time.Time{}, 0)
	if len(h) != 101 || !h[0].Time.Equal(t0.Add(19*24*time.Hour+time.Hour)) {
		t.Fatalf("after prune B has %d samples, first %v", len(h), h[0].Time)
	}
	if _, nh, _ := s.Prune(now); nh != 0 {
		t.Fatalf("second Prune removed %d more", nh)
	}

	// A year and 10 days after t0, records of days 0..9 are past retention.
	now = t0.Add((365 + 10) * 24 * time.Hour)
	nrec, _, err = s.Prune(now)
	if err != nil || nrec != 10 {
		t.Fatalf("Prune a year later: %d records, %v; want 10", nrec, err)
	}
	recs := queryAll(t, s, Filter{Limit: MaxLimit})
	if len(recs) != 110 || !recs[0].Start.Equal(t0.Add(10*24*time.Hour)) {
		t.Fatalf("after prune %d records, first %v", len(recs), recs[0].Start)
	}
	st, _ := s.Stats(time.Time{}, time.Time{})
	if len(st) != 110 || st[0].Day != "2026-03-20" {
		t.Fatalf("after prune %d stats days, first %+v", len(st), st[0])
	}
}

func TestBackgroundPrune(t *testing.T) {
	clk := newClock(t0)
	cfg := testConfig(t, "", clk)
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.AddHealth(HealthSample{Service: "VN/GOV/A/s/x", Status: "up"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen 101 days later with the background prune on: it prunes at Open.
	clk.Set(t0.Add(101 * 24 * time.Hour))
	cfg.PruneInterval = time.Hour
	s = openTest(t, cfg)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := s.HealthHistory("", time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background prune did not remove the old sample")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestQueueFullDrops(t *testing.T) {
	cfg := testConfig(t, "", nil)
	cfg.QueueSize = 2
	s := openTest(t, cfg)
	// Hold bbolt's write lock so the writer stalls in its commit.
	tx, err := s.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() }) // before Close, on failure
	s.Add(rec(0, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	deadline := time.Now().Add(10 * time.Second)
	for len(s.queue) != 0 { // the writer has taken it and is blocked
		if time.Now().After(deadline) {
			t.Fatal("writer did not take the first record")
		}
		time.Sleep(time.Millisecond)
	}
	// The writer holds at most one batch, so at least n-maxBatch-QueueSize
	// of these are dropped, and Add must return for every one.
	const n = maxBatch + 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ {
			s.Add(rec(i, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Add blocked on a full queue")
	}
	dropped := s.Dropped()
	if dropped < n-maxBatch-uint64(cfg.QueueSize) {
		t.Fatalf("Dropped = %d, want at least %d", dropped, n-maxBatch-cfg.QueueSize)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	flush(t, s)
	got := queryAll(t, s, Filter{Limit: MaxLimit})
	if len(got)+int(dropped) != n+1 {
		t.Fatalf("stored %d + dropped %d, want %d", len(got), dropped, n+1)
	}
	// The metrics still counted every call.
	body := scrape(t, s)
	mustContain(t, body, fmt.Sprintf(`dxl_calls_total{role="consumer",service="VN/COM/C/s/x",status_class="2xx"} %d`, n+1))
	mustContain(t, body, fmt.Sprintf("dxl_oprec_dropped_total %d", dropped))
	mustContain(t, body, fmt.Sprintf("dxl_oprec_committed_total %d", len(got)))
}

func TestClosed(t *testing.T) {
	s, err := Open(testConfig(t, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Add(rec(1, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	if s.Dropped() != 1 {
		t.Fatalf("Add after Close: Dropped = %d, want 1", s.Dropped())
	}
	if err := s.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush: %v", err)
	}
	if _, _, err := s.Query(Filter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Query: %v", err)
	}
	if _, _, err := s.Prune(t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Prune: %v", err)
	}
	if code, status := Codes.Code(ErrClosed), Codes.Status(ErrClosed); code != "closed" || status != 503 {
		t.Fatalf("Code(ErrClosed) = %q %d", code, status)
	}
}

func TestConcurrentAdd(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	const workers, each = 8, 500
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				r := rec(w*each+i, RoleProvider, memB+"/app", memA+"/s/x", 200, "")
				s.Add(r)
				if i%100 == 0 {
					_ = s.Flush(context.Background())
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	flush(t, s)
	got := queryAll(t, s, Filter{Limit: 1000})
	if len(got)+int(s.Dropped()) != workers*each {
		t.Fatalf("stored %d + dropped %d != %d", len(got), s.Dropped(), workers*each)
	}
}

func TestAddDuringClose(t *testing.T) {
	cfg := testConfig(t, "", nil)
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 4, 2000
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				s.Add(rec(w*each+i, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
			}
		}()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range workers {
		<-done
	}
	dropped := s.Dropped()
	s = openTest(t, cfg)
	got := queryAll(t, s, Filter{Limit: MaxLimit})
	if len(got)+int(dropped) != workers*each {
		t.Fatalf("stored %d + dropped %d != %d", len(got), dropped, workers*each)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"defaults", Config{Path: "x.db"}, true},
		{"no path", Config{}, false},
		{"short retention", Config{Path: "x.db", Retention: 30 * 24 * time.Hour}, false},
		{"short health retention", Config{Path: "x.db", HealthRetention: 30 * 24 * time.Hour}, false},
		{"negative queue", Config{Path: "x.db", QueueSize: -1}, false},
		{"long retention", Config{Path: "x.db", Retention: 3 * 365 * 24 * time.Hour, HealthRetention: 200 * 24 * time.Hour}, true},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
	if _, err := Open(Config{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("Open without path: %v", err)
	}
}

func TestCorruptValueSkipped(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	s.Add(rec(1, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	s.Add(rec(3, RoleConsumer, memA+"/app", memC+"/s/x", 200, ""))
	flush(t, s)
	bad := rec(2, RoleConsumer, memA+"/app", memC+"/s/x", 200, "")
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRecords).Put(recordKey(nil, &bad), []byte{valueVersion, 0xff})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := queryAll(t, s, Filter{})
	if want := []string{"req-0001/consumer", "req-0003/consumer"}; !slices.Equal(ids(got), want) {
		t.Fatalf("got %v, want %v", ids(got), want)
	}
}

func TestMember(t *testing.T) {
	for in, want := range map[string]string{
		"VN/GOV/A/app":       "VN/GOV/A",
		"VN/GOV/A/app/svc/1": "VN/GOV/A",
		"VN/GOV/A":           "VN/GOV/A",
		"VN/GOV":             "VN/GOV",
		"":                   "",
	} {
		if got := Member(in); got != want {
			t.Errorf("Member(%q) = %q, want %q", in, got, want)
		}
	}
}
