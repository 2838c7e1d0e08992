package oprec

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	s := openTest(t, testConfig(t, "", nil))
	svc := memB + "/SVC/data"
	for i, c := range []struct {
		role   string
		status int
		code   string
	}{{RoleProvider, 200, ""}, {RoleProvider, 404, ""}, {RoleProvider, 502, "backend_unreachable"}, {RoleProvider, 503, ""},
		{RoleProvider, 502, "backend_unreachable"}, {RoleConsumer, 200, ""}} {
		s.Add(rec(i, c.role, memA+"/IS", svc, c.status, c.code))
	}
	next := rec(100, RoleProvider, memA+"/IS", svc, 200, "")
	next.Start = t0.Add(24 * time.Hour)
	s.Add(next)
	flush(t, s)
	rows, err := s.Report(t0.Add(-time.Hour), t0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	p := rows[1] // 2026-03-10 provider, after the consumer's row
	if p.Role != RoleProvider || p.Calls != 5 || p.Succeeded != 2 || p.Failed != 3 || p.Causes["backend_unreachable"] != 2 || p.Causes["http_503"] != 1 {
		t.Fatalf("provider row %+v", p)
	}
	var buf bytes.Buffer
	if err := WriteReportCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "2026-03-10,provider,"+svc+",5,2,3,backend_unreachable=2;http_503=1\n") {
		t.Fatalf("CSV:\n%s", buf.String())
	}
}
