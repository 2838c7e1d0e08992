package oprec

import (
	"errors"
	"net/http"

	"github.com/dxl-network/dxl/internal/errcode"
)

// Sentinel errors. Every error the package returns wraps one of them; Codes
// maps them to an error code and HTTP status for an admin API.
var (
	ErrConfig    = errors.New("oprec: invalid configuration")
	ErrClosed    = errors.New("oprec: store closed")
	ErrBadFilter = errors.New("oprec: bad filter")
	ErrStorage   = errors.New("oprec: storage failure")
	ErrCorrupt   = errors.New("oprec: corrupt stored data")
)

// Codes is the package's error table (internal/errcode): "bad_filter"
// (400), "closed" (503), "config", "storage", "corrupt" (500).
var Codes = errcode.New(
	errcode.Entry{Err: ErrBadFilter, Code: "bad_filter", Status: http.StatusBadRequest},
	errcode.Entry{Err: ErrClosed, Code: "closed", Status: http.StatusServiceUnavailable},
	errcode.Entry{Err: ErrConfig, Code: "config", Status: http.StatusInternalServerError},
	errcode.Entry{Err: ErrStorage, Code: "storage", Status: http.StatusInternalServerError},
	errcode.Entry{Err: ErrCorrupt, Code: "corrupt", Status: http.StatusInternalServerError},
)
