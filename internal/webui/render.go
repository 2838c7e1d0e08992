package webui

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed ui
var uiFS embed.FS

// Page is what every console template gets: the layout reads the language,
// title, navigation, session and messages; the page's own "content"
// template reads Data.
type Page struct {
	Lang    string
	Title   string // a catalogue key
	App     string // the console's name, a catalogue key
	Base    string // the console's path prefix, "/console/"
	Path    string // this page's path, to come back to after a language switch
	Session *Session
	Nav     []NavItem
	Notice  string // a message already in Lang
	Error   string // a message already in Lang
	// FieldErrors are messages already in Lang, by form field.
	FieldErrors map[string]string
	Data        any
	Cat         Catalog
}

// NavItem is one entry of the navigation.
type NavItem struct {
	Href, Key string
	Current   bool
}

// T returns key's message in the page's language.
func (p *Page) T(key string, args ...any) string { return p.Cat.T(p.Lang, key, args...) }

// Time formats t for the page's language.
func (p *Page) Time(t time.Time) string { return FormatTime(p.Lang, t) }

// Int formats n for the page's language.
func (p *Page) Int(n any) string {
	switch v := n.(type) {
	case int:
		return FormatInt(p.Lang, int64(v))
	case int64:
		return FormatInt(p.Lang, v)
	case uint64:
		return FormatInt(p.Lang, int64(v))
	}
	return fmt.Sprint(n)
}

// Age formats d for the page's language.
func (p *Page) Age(d time.Duration) string { return FormatAge(p.Lang, d) }

// JSON writes v as indented JSON (for configuration blocks).
func (p *Page) JSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Field returns the error message of a form field ("" if none).
func (p *Page) Field(name string) string { return p.FieldErrors[name] }

// Renderer holds a console's pages, each parsed with the shared layout.
type Renderer struct {
	pages map[string]*template.Template
	log   *slog.Logger
}

// NewRenderer parses every *.html of pages (a console's embedded page
// templates, each defining "content") and the shared login and error
// pages, each with the layout and the templates of pages' partials/*.html.
func NewRenderer(pages fs.FS, log *slog.Logger) (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, log: log}
	layout, err := template.ParseFS(uiFS, "ui/layout.html")
	if err != nil {
		return nil, fmt.Errorf("webui: layout: %w", err)
	}
	if pages != nil { // templates every page may use
		if parts, _ := fs.Glob(pages, "partials/*.html"); len(parts) > 0 {
			if layout, err = layout.ParseFS(pages, parts...); err != nil {
				return nil, fmt.Errorf("webui: partials: %w", err)
			}
		}
	}
	add := func(fsys fs.FS, pattern string) error {
		names, err := fs.Glob(fsys, pattern)
		if err != nil {
			return err
		}
		for _, n := range names {
			t, err := template.Must(layout.Clone()).ParseFS(fsys, n)
			if err != nil {
				return fmt.Errorf("webui: page %s: %w", n, err)
			}
			r.pages[strings.TrimSuffix(path.Base(n), ".html")] = t
		}
		return nil
	}
	if err := add(uiFS, "ui/pages/*.html"); err != nil {
		return nil, err
	}
	if pages != nil {
		if err := add(pages, "*.html"); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Render writes page name with status; a template failure is logged and
// answered 500 before anything was written.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p *Page) {
	t, ok := r.pages[name]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("no page %q", name)
	} else {
		err = t.ExecuteTemplate(&buf, "layout", p)
	}
	if err != nil {
		r.log.Error("console page failed", "page", name, "error", err)
		http.Error(w, "500 – Lỗi nội bộ / internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// StaticHandler serves the shared style sheet under prefix + "static/".
func StaticHandler(prefix string) http.Handler {
	sub, _ := fs.Sub(uiFS, "ui/static")
	fsrv := http.StripPrefix(prefix+"static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
