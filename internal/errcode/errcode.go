package errcode

import (
	"errors"
	"fmt"
	"net/http"
)

// Internal is the code of an error that wraps no sentinel of the table.
const Internal = "internal"

// Entry gives one sentinel its machine code and HTTP status.
type Entry struct {
	Err    error
	Code   string
	Status int // HTTP status; 0 means 500 Internal Server Error
}

// Table is an ordered list of entries. The zero value is an empty table.
type Table struct {
	entries []Entry
	byCode  map[string]int // code → index of its first entry
}

// New returns the table of entries, tried in the order given. A nil
// sentinel, an empty code or a code used twice is a programming error and
// panics at package initialisation.
func New(entries ...Entry) *Table {
	t := &Table{entries: entries, byCode: make(map[string]int, len(entries))}
	for i, e := range entries {
		if e.Err == nil || e.Code == "" {
			panic(fmt.Sprintf("errcode: entry %d has no sentinel or no code", i))
		}
		if _, dup := t.byCode[e.Code]; dup {
			panic("errcode: code " + e.Code + " used twice")
		}
		t.byCode[e.Code] = i
	}
	return t
}

// Join returns a table that tries each table in turn. Codes may repeat
// across tables (two packages may both say "too_large"); Sentinel then
// returns the first table's sentinel.
func Join(tables ...*Table) *Table {
	t := &Table{byCode: map[string]int{}}
	for _, s := range tables {
		for _, e := range s.entries {
			if _, dup := t.byCode[e.Code]; !dup {
				t.byCode[e.Code] = len(t.entries)
			}
			t.entries = append(t.entries, e)
		}
	}
	return t
}

// Lookup returns the first entry whose sentinel err wraps.
func (t *Table) Lookup(err error) (Entry, bool) {
	if err == nil || t == nil {
		return Entry{}, false
	}
	for _, e := range t.entries {
		if errors.Is(err, e.Err) {
			return e, true
		}
	}
	return Entry{}, false
}

// Code returns err's machine code: "" for nil, Internal when err wraps no
// sentinel of the table.
func (t *Table) Code(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := t.Lookup(err); ok {
		return e.Code
	}
	return Internal
}

// Status returns the HTTP status for err: 200 for nil, the entry's status,
// or 500 when err wraps no sentinel of the table.
func (t *Table) Status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	if e, ok := t.Lookup(err); ok && e.Status != 0 {
		return e.Status
	}
	return http.StatusInternalServerError
}

// Sentinel returns the sentinel with the code, or nil for an unknown code.
func (t *Table) Sentinel(code string) error {
	if t == nil {
		return nil
	}
	if i, ok := t.byCode[code]; ok {
		return t.entries[i].Err
	}
	return nil
}

// StatusOfCode returns the HTTP status of the entry with the code, and
// whether the table has it.
func (t *Table) StatusOfCode(code string) (int, bool) {
	if t == nil {
		return 0, false
	}
	i, ok := t.byCode[code]
	if !ok {
		return 0, false
	}
	if s := t.entries[i].Status; s != 0 {
		return s, true
	}
	return http.StatusInternalServerError, true
}

// Codes returns every code of the table in order (for documentation and
// tests that every code is documented).
func (t *Table) Codes() []string {
	out := make([]string, 0, len(t.entries))
	for _, e := range t.entries {
		out = append(out, e.Code)
	}
	return out
}
