package jsonin

import (
	"encoding/json"
	"errors"
	"io"
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
