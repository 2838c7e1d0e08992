package envelope

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// RequestID is a UUID version 4 (RFC 9562), carried as its 16 raw bytes.
type RequestID [16]byte

// NewRequestID returns a random version 4 UUID.
func NewRequestID() RequestID {
	var id RequestID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	id[6] = id[6]&0x0f | 0x40
	id[8] = id[8]&0x3f | 0x80
	return id
}

// Valid reports whether id has version 4 and the RFC 9562 variant.
func (id RequestID) Valid() bool { return id[6]>>4 == 4 && id[8]>>6 == 2 }

// String returns the canonical lower-case 8-4-4-4-12 form.
func (id RequestID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// ParseRequestID parses the 8-4-4-4-12 hex form (either case) of a
// version 4 UUID; any other version or variant is ErrMalformed.
func ParseRequestID(s string) (RequestID, error) {
	var id RequestID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("%w: request ID %.40q is not a UUID", ErrMalformed, s)
	}
	hexs := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(id[:], []byte(hexs)); err != nil {
		return RequestID{}, fmt.Errorf("%w: request ID %q is not a UUID", ErrMalformed, s)
	}
	if !id.Valid() {
		return RequestID{}, fmt.Errorf("%w: request ID %q is not a version 4 UUID", ErrMalformed, s)
	}
	return id, nil
}
