package store

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// hclogAdapter bridges hashicorp/raft's hclog.Logger into log/slog. Keys are
// rewritten to snake_case ("last-index" → "last_index"); the hclog name goes
// into a "raft" attribute.
type hclogAdapter struct {
	l       *slog.Logger
	name    string
	implied []any
	level   hclog.Level // NoLevel: follow the slog handler
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func newHCLog(l *slog.Logger, name string) *hclogAdapter {
	return &hclogAdapter{l: l, name: name, level: hclog.NoLevel}
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error, hclog.Off:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (h *hclogAdapter) enabled(l hclog.Level) bool {
	if h.level != hclog.NoLevel && l < h.level {
		return false
	}
	return h.l.Enabled(context.Background(), slogLevel(l))
}

func snake(k string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '.' {
			return '_'
		}
		return r
	}, k)
}

func (h *hclogAdapter) attrs(args []any) []any {
	all := append(append([]any(nil), h.implied...), args...)
	out := make([]any, 0, len(all)+2)
	if h.name != "" {
		out = append(out, "raft", h.name)
	}
	for i := 0; i < len(all); i += 2 {
		if i+1 == len(all) {
			out = append(out, "extra", fmt.Sprint(all[i]))
			break
		}
		k, ok := all[i].(string)
		if !ok {
			k = fmt.Sprint(all[i])
		}
		v := all[i+1]
		if f, ok := v.(hclog.Format); ok && len(f) > 0 {
			if s, ok := f[0].(string); ok {
				v = fmt.Sprintf(s, f[1:]...)
			}
		}
		out = append(out, snake(k), v)
	}
	return out
}

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if !h.enabled(level) {
		return
	}
	h.l.Log(context.Background(), slogLevel(level), msg, h.attrs(args)...)
}

func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }
func (h *hclogAdapter) IsTrace() bool                 { return h.enabled(hclog.Trace) }
func (h *hclogAdapter) IsDebug() bool                 { return h.enabled(hclog.Debug) }
func (h *hclogAdapter) IsInfo() bool                  { return h.enabled(hclog.Info) }
func (h *hclogAdapter) IsWarn() bool                  { return h.enabled(hclog.Warn) }
func (h *hclogAdapter) IsError() bool                 { return h.enabled(hclog.Error) }
func (h *hclogAdapter) ImpliedArgs() []any            { return h.implied }
func (h *hclogAdapter) Name() string                  { return h.name }
func (h *hclogAdapter) SetLevel(l hclog.Level)        { h.level = l }

func (h *hclogAdapter) GetLevel() hclog.Level {
	if h.level != hclog.NoLevel {
		return h.level
	}
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if h.l.Enabled(context.Background(), slogLevel(l)) {
			return l
		}
	}
	return hclog.Error
}

func (h *hclogAdapter) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any(nil), h.implied...), args...)
	return &c
}

func (h *hclogAdapter) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

func (h *hclogAdapter) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo)
}

func (h *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}
