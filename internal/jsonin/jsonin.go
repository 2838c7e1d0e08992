package jsonin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// ErrTrailing: data follows the JSON value.
var ErrTrailing = errors.New("trailing data after the JSON value")

// Decode reads exactly one JSON value from r into v, refusing unknown
// object fields when v is a struct (json.Decoder.DisallowUnknownFields)
// and anything but white space after the value (ErrTrailing). Decoding
// errors are json's, unwrapped: callers wrap them in their own sentinel.
func Decode(r io.Reader, v any) error { return decode(r, v, true) }

// DecodeOpen is Decode accepting unknown object fields.
func DecodeOpen(r io.Reader, v any) error { return decode(r, v, false) }

func decode(r io.Reader, v any, known bool) error {
	dec := json.NewDecoder(r)
	if known {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Token reads one token past the value: io.EOF is the only good end.
	// A stray '}' or ']' is an error here, where dec.More would say none.
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailing
	}
	return nil
}

// DecodeFile is Decode of a whole file's bytes, its errors located: a
// syntax error, a value of the wrong type or an unknown field says on
// which line and column of raw (name: line L, column C: …).
func DecodeFile(name string, raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return nil
		}
		err = ErrTrailing
	}
	off := dec.InputOffset()
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset - 1 // the offending byte
	case errors.As(err, &typ):
		off = typ.Offset
	default:
		if k := unknownField(raw, err); k >= 0 {
			off = int64(k)
		}
	}
	line, col := position(raw, off)
	return fmt.Errorf("%s: line %d, column %d: %w", name, line, col, err)
}

// position is the 1-based line and column of byte offset off in raw.
func position(raw []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(raw)))
	before := raw[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	return line, 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
}

// unknownField is the offset of the first key json's unknown-field error
// names, or -1 (the error carries no offset of its own).
func unknownField(raw []byte, err error) int {
	name, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return -1
	}
	m := regexp.MustCompile(regexp.QuoteMeta(name) + `\s*:`).FindIndex(raw)
	if m == nil {
		return -1
	}
	return m[0]
}
