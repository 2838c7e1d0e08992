package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Splice returns base with the del bytes from at replaced by ins (at and
// del are cut to base's length). Fuzz targets whose valid inputs are large
// build them once and fuzz only (at, del, ins): the fuzzer's inputs stay a
// few bytes, so mutating and minimising them is cheap, while every exec
// still sees a whole, nearly valid input.
func Splice(base []byte, at, del int, ins []byte) []byte {
	at = min(max(at, 0), len(base))
	end := min(at+max(del, 0), len(base))
	out := make([]byte, 0, at+len(ins)+len(base)-end)
	return append(append(append(out, base[:at]...), ins...), base[end:]...)
}

// SpliceSeed is one committed seed of a fuzz target taking (base, at, del
// uint16, ins []byte).
type SpliceSeed struct {
	Base, At, Del uint16
	Ins           []byte
}

// WriteSpliceSeeds writes seeds as the corpus files of target under
// testdata/fuzz, one file per name.
func WriteSpliceSeeds(target string, seeds map[string]SpliceSeed) error {
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, s := range seeds {
		var b strings.Builder
		fmt.Fprintf(&b, "go test fuzz v1\nuint16(%d)\nuint16(%d)\nuint16(%d)\n[]byte(%q)\n", s.Base, s.At, s.Del, s.Ins)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
