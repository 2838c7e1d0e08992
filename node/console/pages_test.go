package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dxl-network/dxl/internal/webui"
)

// TestNodeConsolePages visits every page as an auditor, in both languages.
func TestNodeConsolePages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	if st, _, h := b.do("GET", "/console/", nil); st != http.StatusSeeOther || h.Get("Location") != "/console/login?m=expired" && h.Get("Location") != "/console/login" {
		t.Fatalf("dashboard without a session: %d %s", st, h.Get("Location"))
	}
	st, body, h := b.do("GET", "/console/login", nil)
	if st != 200 || h.Get("Content-Security-Policy") != webui.ContentSecurityPolicy || !strings.Contains(body, "DXL — Quản trị nút") || strings.Contains(body, "<script") {
		t.Fatalf("login page %d %v\n%s", st, h, body)
	}
	if e.call(t, "/citizens/001") != http.StatusForbidden { // a record for the records page
		t.Fatal("A may call the REST service before any grant")
	}
	tok := b.login("kiem")
	pages := []struct{ path, vi, en string }{
		{"/console/", "Tình trạng nút", "Node health"},
		{"/console/services", "đang cung cấp", "published"},
		{"/console/access", "Quyền đang có hiệu lực", "Rights in force"},
		{"/console/credentials", "Khóa truy cập của hệ thống thông tin", "Consumer credentials"},
		{"/console/records", "Nhật ký giao dịch", "Operational records"},
		{"/console/stats", "<svg", "Calls per day"},
		{"/console/evidence", "Tải gói chứng cứ", "Evidence bundle download"},
		{"/console/reconcile", "Đối soát với thành viên khác", "Reconciliation with another member"},
		{"/console/queues", "Hàng đợi chuyển văn bản", "Document delivery queues"},
		{"/console/audit", "Nhật ký quản trị", "Admin audit log"},
	}
	for _, lang := range []string{"vi", "en"} {
		if lang == "en" {
			if st, _, _ := b.do("POST", "/console/lang", url.Values{"lang": {"en"}, "return": {"/console/"}, "form_token": {tok}}); st != http.StatusSeeOther {
				t.Fatalf("switch language: %d", st)
			}
		}
		for _, p := range pages {
			st, body, h := b.do("GET", p.path, nil)
			want := p.vi
			if lang == "en" {
				want = p.en
			}
			if st != 200 || !strings.Contains(body, `<html lang="`+lang+`">`) || !strings.Contains(body, want) ||
				h.Get("Content-Security-Policy") != webui.ContentSecurityPolicy || strings.Contains(body, "<script") || strings.Contains(body, "style=") {
				t.Errorf("%s in %s: %d, want %q\n%s", p.path, lang, st, want, body)
			}
		}
	}
	// The auditor reads but is offered no form that changes state.
	if _, body, _ := b.do("GET", "/console/access", nil); strings.Contains(body, `id="grant-form"`) || !strings.Contains(body, "Your role may only read.") {
		t.Fatalf("auditor's access page offers a grant:\n%s", body)
	}
	// The dashboard shows the peer A online and the stats a call made.
	if _, body, _ := b.do("GET", "/console/", nil); !strings.Contains(body, e.d.A.Node.PeerID().String()) {
		t.Fatalf("dashboard without peer A:\n%s", body)
	}
	if _, body, _ := b.do("GET", "/console/records?status=403", nil); !strings.Contains(body, "access_denied") || !strings.Contains(body, `id="download-csv"`) {
		t.Fatalf("records page without the refused call:\n%s", body)
	}
	st, body, h = b.do("GET", "/console/records.csv?status=403", nil)
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.Contains(h.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(body, "access_denied") {
		t.Fatalf("CSV download %d %v\n%s", st, h, body)
	}
	st, body, h = b.do("GET", "/console/records.json?status=403", nil)
	if st != 200 || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"error_code":"access_denied"`) {
		t.Fatalf("JSON download %d %v\n%s", st, h, body)
	}
	// Bad filters get field-level messages and no query.
	st, body, _ = b.do("GET", "/console/records?from=yesterday&status=9999", nil)
	if st != http.StatusBadRequest || !strings.Contains(body, `id="from-error"`) || !strings.Contains(body, `id="status-error"`) {
		t.Fatalf("bad filter %d\n%s", st, body)
	}
	// An unknown request's evidence is a clear refusal.
	if st, body, _ := b.do("GET", "/console/evidence.json?request_id=nosuch", nil); st < 400 || !strings.Contains(body, "Refused") {
		t.Fatalf("evidence of nothing: %d\n%s", st, body)
	}
}
