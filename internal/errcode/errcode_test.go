package errcode_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/dxl-network/dxl/internal/errcode"
)

var (
	errA = errors.New("a")
	errB = errors.New("b")
	errC = errors.New("c")
)

func TestTable(t *testing.T) {
	tab := errcode.New(
		errcode.Entry{Err: errA, Code: "a", Status: http.StatusNotFound},
		errcode.Entry{Err: errB, Code: "b"},
	)
	both := fmt.Errorf("%w and %w", errB, errA)
	for _, c := range []struct {
		err    error
		code   string
		status int
	}{
		{nil, "", http.StatusOK},
		{errA, "a", http.StatusNotFound},
		{fmt.Errorf("wrapped: %w", errA), "a", http.StatusNotFound},
		{errB, "b", http.StatusInternalServerError},
		{both, "a", http.StatusNotFound}, // declared order decides, not wrapping order
		{errC, errcode.Internal, http.StatusInternalServerError},
	} {
		if got := tab.Code(c.err); got != c.code {
			t.Errorf("Code(%v) = %q, want %q", c.err, got, c.code)
		}
		if got := tab.Status(c.err); got != c.status {
			t.Errorf("Status(%v) = %d, want %d", c.err, got, c.status)
		}
	}
	if tab.Sentinel("a") != errA || tab.Sentinel("b") != errB || tab.Sentinel("zz") != nil {
		t.Error("Sentinel does not invert Code")
	}
	if s, ok := tab.StatusOfCode("a"); !ok || s != http.StatusNotFound {
		t.Errorf("StatusOfCode(a) = %d, %v", s, ok)
	}
	if _, ok := tab.StatusOfCode("zz"); ok {
		t.Error("StatusOfCode of an unknown code reports ok")
	}
}

func TestJoin(t *testing.T) {
	low := errcode.New(errcode.Entry{Err: errA, Code: "same", Status: http.StatusBadRequest})
	high := errcode.New(
		errcode.Entry{Err: errB, Code: "same", Status: http.StatusConflict},
		errcode.Entry{Err: errC, Code: "c", Status: http.StatusGone},
	)
	j := errcode.Join(high, low)
	if j.Code(errA) != "same" || j.Status(errA) != http.StatusBadRequest {
		t.Errorf("joined table lost the lower entry: %q %d", j.Code(errA), j.Status(errA))
	}
	if j.Sentinel("same") != errB {
		t.Error("Sentinel of a repeated code must be the first table's")
	}
	if got := j.Codes(); len(got) != 3 || got[0] != "same" || got[1] != "c" {
		t.Errorf("Codes = %v", got)
	}
}

func TestNewRejectsDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a code used twice did not panic")
		}
	}()
	errcode.New(errcode.Entry{Err: errA, Code: "x"}, errcode.Entry{Err: errB, Code: "x"})
}
