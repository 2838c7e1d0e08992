package wire

import (
	"bytes"
	"testing"
	"time"
)

func TestDecoder(t *testing.T) {
	b := []byte{7, 0, 2, 'h', 'i', 0, 0, 0, 3, 'a', 'b', 'c'}
	b = append(b, make([]byte, 8)...)
	d := NewDecoder(b)
	if d.U8() != 7 || d.Str() != "hi" || !bytes.Equal(d.Blob32(), []byte("abc")) || !d.Time().Equal(time.Unix(0, 0)) || !d.Done() {
		t.Fatal("decoded wrong")
	}
	d = NewDecoder([]byte{0, 0, 0, 9, 'x'})
	if d.Blob32() != nil || !d.Bad() || d.U64() != 0 || d.Done() {
		t.Fatal("short blob accepted")
	}
	d = NewDecoder([]byte{1, 2})
	var dst [4]byte
	if d.Fixed(dst[:]); !d.Bad() || d.U16() != 0 {
		t.Fatal("short fixed accepted")
	}
}
