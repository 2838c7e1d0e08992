package ident

import (
	"errors"
	"testing"
)

func TestParseMember(t *testing.T) {
	tests := []struct {
		in, def string
		want    string
		ok      bool
	}{
		{"VN-TEST/GOV/000.00.00.H01", "", "VN-TEST/GOV/000.00.00.H01", true},
		{"GOV/000.00.00.H01", "VN-TEST", "VN-TEST/GOV/000.00.00.H01", true},
		{"VN-TEST/GOV/H01", "VN-TEST", "VN-TEST/GOV/H01", true},
		{"VN/GOV/H01", "VN-TEST", "", false},
		{"GOV/H01", "", "", false},
		{"GOV", "VN", "", false},
		{"VN/GOV/H 01", "", "", false},
		{"VN//H01", "", "", false},
		{"VN/GOV/H01/X/Y", "", "", false},
	}
	for _, tt := range tests {
		m, err := ParseMember(tt.in, tt.def)
		if tt.ok != (err == nil) {
			t.Fatalf("ParseMember(%q,%q) err=%v, want ok=%v", tt.in, tt.def, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not wrap ErrInvalid", err)
		}
		if tt.ok && m.String() != tt.want {
			t.Fatalf("got %s want %s", m, tt.want)
		}
	}
}
