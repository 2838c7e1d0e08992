package wire

import (
	"encoding/binary"
	"time"
)

// Decoder reads fields from a byte slice. Once a read runs past the end,
// every later read returns zero values and Bad reports true.
type Decoder struct {
	b   []byte
	bad bool
}

// NewDecoder reads b (not copied: results alias it).
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Bad reports whether a read ran past the end.
func (d *Decoder) Bad() bool { return d.bad }

// Rest is what has not been read.
func (d *Decoder) Rest() []byte { return d.b }

// Done reports whether every byte was read and none was missing.
func (d *Decoder) Done() bool { return !d.bad && len(d.b) == 0 }

// Bytes reads n bytes (a slice of the input, capacity n).
func (d *Decoder) Bytes(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.bad = true
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// U8 reads one byte.
func (d *Decoder) U8() uint8 {
	if v := d.Bytes(1); v != nil {
		return v[0]
	}
	return 0
}

// U16 reads a big-endian uint16.
func (d *Decoder) U16() uint16 {
	if v := d.Bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// U32 reads a big-endian uint32.
func (d *Decoder) U32() uint32 {
	if v := d.Bytes(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// U64 reads a big-endian uint64.
func (d *Decoder) U64() uint64 {
	if v := d.Bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// Str reads a string with a uint16 length prefix.
func (d *Decoder) Str() string { return string(d.Bytes(int(d.U16()))) }

// Blob32 reads bytes with a uint32 length prefix.
func (d *Decoder) Blob32() []byte {
	n := d.U32()
	if d.bad {
		return nil
	}
	return d.Bytes(int(min(uint64(n), uint64(len(d.b))+1)))
}

// Fixed fills dst.
func (d *Decoder) Fixed(dst []byte) { copy(dst, d.Bytes(len(dst))) }

// Time reads Unix nanoseconds as a UTC time.
func (d *Decoder) Time() time.Time { return time.Unix(0, int64(d.U64())).UTC() }
