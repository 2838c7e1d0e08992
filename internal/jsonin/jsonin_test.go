package jsonin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeExactlyOneValue(t *testing.T) {
	type body struct {
		A int `json:"a"`
	}
	for _, tc := range []struct {
		in       string
		trailing bool
		bad      bool
	}{
		{in: `{"a":1}`},
		{in: " {\"a\":1} \n\t"},
		{in: `{"a":1} garbage`, trailing: true},
		{in: `{}{}`, trailing: true},
		{in: `{"a":1}}`, trailing: true},
		{in: `{"a":1}]`, trailing: true},
		{in: `{"a":1} 2`, trailing: true},
		{in: `{"a":1} "x"`, trailing: true},
		{in: `{"a":1,"b":2}`, bad: true},
		{in: ``, bad: true},
		{in: `{"a":`, bad: true},
	} {
		var b body
		err := Decode(strings.NewReader(tc.in), &b)
		switch {
		case tc.trailing && !errors.Is(err, ErrTrailing):
			t.Errorf("%q: %v, want ErrTrailing", tc.in, err)
		case tc.bad && (err == nil || errors.Is(err, ErrTrailing)):
			t.Errorf("%q: %v, want a decoding error", tc.in, err)
		case !tc.trailing && !tc.bad && (err != nil || b.A != 1):
			t.Errorf("%q: %v %+v", tc.in, err, b)
		}
	}
	var b body
	if err := DecodeOpen(strings.NewReader(`{"a":1,"b":2}`), &b); err != nil || b.A != 1 {
		t.Errorf("DecodeOpen refused an unknown field: %v", err)
	}
	if err := DecodeOpen(strings.NewReader(`{"a":1,"b":2} x`), &b); !errors.Is(err, ErrTrailing) {
		t.Errorf("DecodeOpen accepted trailing data: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(`{"a":1}`)
	f.Add(`{}{}`)
	f.Add(`[1] ]`)
	f.Fuzz(func(t *testing.T, in string) {
		// The oracle is encoding/json on the whole input: it refuses
		// trailing data too, and numbers a float64 cannot hold (valid JSON
		// that does not decode into any).
		var v, ref any
		err := DecodeOpen(strings.NewReader(in), &v)
		refErr := json.Unmarshal([]byte(in), &ref)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%.80q: DecodeOpen %v, json.Unmarshal %v", in, err, refErr)
		}
	})
}

// TestDecodeFileLocates: each kind of error names its line and column.
func TestDecodeFileLocates(t *testing.T) {
	type inner struct {
		Port int `json:"port"`
	}
	type doc struct {
		Name  string `json:"name"`
		Inner inner  `json:"inner"`
	}
	for raw, want := range map[string]string{
		"{\n  \"name\": \"a\",\n  \"inner\": {\"port\": \"x\"}\n}": "node.json: line 3, column 24:",
		"{\n  \"name\": \"a\",\n  \"extra\": 1\n}":                 "node.json: line 3, column 3:",
		"{\n  \"name\": \"a\"\n  \"inner\": {}\n}":                 "node.json: line 3, column 3:",
		"{\"name\": \"a\"}\n{}":                                    "node.json: line 2, column",
	} {
		var d doc
		err := DecodeFile("node.json", []byte(raw), &d)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q…", raw, err, want)
		}
	}
	var d doc
	if err := DecodeFile("node.json", []byte(`{"name":"ok","inner":{"port":1}}`), &d); err != nil || d.Inner.Port != 1 {
		t.Fatalf("valid: %+v %v", d, err)
	}
}
