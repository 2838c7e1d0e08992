package webui

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Languages of the consoles: Vietnamese (the default) and English.
const (
	LangVi      = "vi"
	LangEn      = "en"
	DefaultLang = LangVi
	// LangCookie keeps the language chosen before login.
	LangCookie = "dxl-lang"
)

// ValidLang reports whether lang is a language of the consoles.
func ValidLang(lang string) bool { return lang == LangVi || lang == LangEn }

// Text is one message: Vietnamese, then English.
type Text [2]string

// Catalog maps message keys to their texts.
type Catalog map[string]Text

// With returns a catalogue of c's messages and more's (more's win).
func (c Catalog) With(more Catalog) Catalog {
	out := maps.Clone(c)
	maps.Copy(out, more)
	return out
}

// T returns key's message in lang, formatted with args (fmt verbs); an
// unknown key shows as itself, so a missing translation is visible.
func (c Catalog) T(lang, key string, args ...any) string {
	t, ok := c[key]
	if !ok {
		return key
	}
	s := t[0]
	if lang == LangEn {
		s = t[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// RequestLang is the language of r: the session's (stored per account),
// else the language cookie, else Vietnamese.
func RequestLang(r *http.Request, s *Session) string {
	if s != nil && ValidLang(s.Lang) {
		return s.Lang
	}
	if c, err := r.Cookie(LangCookie); err == nil && ValidLang(c.Value) {
		return c.Value
	}
	return DefaultLang
}

// SetLangCookie remembers lang in the browser.
func SetLangCookie(w http.ResponseWriter, lang string) {
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// FormatTime writes t in lang's convention, in Vietnam's time zone
// (UTC+7, no daylight saving) for Vietnamese and UTC for English; the zero
// time is "—".
func FormatTime(lang string, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	if lang == LangEn {
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return t.In(vietnam).Format("15:04:05 02/01/2006") + " (GMT+7)"
}

var vietnam = time.FixedZone("ICT", 7*3600)

// FormatInt groups n's digits: 1.234.567 in Vietnamese, 1,234,567 in
// English.
func FormatInt(lang string, n int64) string {
	sep := "."
	if lang == LangEn {
		sep = ","
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// FormatAge writes d as a short duration ("3 phút" / "3 min").
func FormatAge(lang string, d time.Duration) string {
	vi := lang != LangEn
	switch {
	case d < time.Minute:
		if vi {
			return fmt.Sprintf("%d giây", int(d.Seconds()))
		}
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		if vi {
			return fmt.Sprintf("%d phút", int(d.Minutes()))
		}
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		if vi {
			return fmt.Sprintf("%d giờ", int(d.Hours()))
		}
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	if vi {
		return fmt.Sprintf("%d ngày", int(d.Hours()/24))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// Shared is the catalogue of the layout and the login page.
var Shared = Catalog{
	"skip":            {"Chuyển đến nội dung chính", "Skip to main content"},
	"language":        {"Ngôn ngữ", "Language"},
	"lang.vi":         {"Tiếng Việt", "Tiếng Việt (Vietnamese)"},
	"lang.en":         {"English (Tiếng Anh)", "English"},
	"lang.apply":      {"Đổi ngôn ngữ", "Change language"},
	"nav":             {"Điều hướng chính", "Main navigation"},
	"logout":          {"Đăng xuất", "Log out"},
	"signed_in_as":    {"Đang đăng nhập: %s (vai trò: %s)", "Signed in as %s (role: %s)"},
	"login.title":     {"Đăng nhập", "Log in"},
	"login.account":   {"Tên tài khoản", "Account name"},
	"login.password":  {"Mật khẩu", "Password"},
	"login.code":      {"Mã xác thực một lần (TOTP, 6 chữ số)", "One-time code (TOTP, 6 digits)"},
	"login.code_help": {"Mã từ ứng dụng xác thực trên điện thoại của bạn.", "The code from the authenticator app on your phone."},
	"login.submit":    {"Đăng nhập", "Log in"},
	"login.bad":       {"Sai tên tài khoản, mật khẩu hoặc mã xác thực.", "Wrong account name, password or code."},
	"login.locked":    {"Tài khoản tạm khóa do đăng nhập sai nhiều lần. Thử lại sau %s.", "The account is locked after failed logins. Try again after %s."},
	"login.expired":   {"Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại.", "Your session has expired. Please log in again."},
	"login.out":       {"Bạn đã đăng xuất.", "You have logged out."},
	"err.title":       {"Lỗi", "Error"},
	"err.forbidden":   {"Tài khoản của bạn không có quyền thực hiện thao tác này.", "Your account is not allowed to do this."},
	"err.token":       {"Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang và thử lại.", "The form has expired or is not valid. Reload the page and try again."},
	"err.notfound":    {"Không tìm thấy trang.", "Page not found."},
	"err.badform":     {"Dữ liệu gửi lên không hợp lệ: %s", "The form sent is not valid: %s"},
	"err.internal":    {"Lỗi nội bộ. Thao tác không được thực hiện.", "Internal error. Nothing was changed."},
	"err.back":        {"Quay lại trang tổng quan", "Back to the dashboard"},
	"footer":          {"DXL — Nền tảng trao đổi dữ liệu", "DXL — data exchange layer"},
}
