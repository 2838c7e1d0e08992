package spool

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Errors of Fill: the body is over the limit; the spool's file could not
// be created or written (a full or failing disk).
var (
	ErrTooLarge = errors.New("spool: body too large")
	ErrStorage  = errors.New("spool: cannot store the body")
)

// Config says where and how much.
type Config struct {
	// Dir holds the temporary files ("" is os.TempDir).
	Dir string
	// Memory is how many bytes stay in memory before the rest goes to a
	// file (0: DefaultMemory).
	Memory int
	// Limit caps the body; more is ErrTooLarge (0: no limit).
	Limit int64
}

// DefaultMemory is Config.Memory's default.
const DefaultMemory = 1 << 20

// Spool is one body. The zero value is an empty body.
type Spool struct {
	mem  []byte
	file *os.File
	ctr  cipher.Block
	iv   [aes.BlockSize]byte
	n    int64
	sum  [32]byte
	once sync.Once
}

// Bytes returns an in-memory body as a Spool (no copy).
func Bytes(b []byte) *Spool {
	return &Spool{mem: b, n: int64(len(b)), sum: sha256.Sum256(b)}
}

// Fill reads r to its end into a new Spool. On error nothing is kept.
func Fill(cfg Config, r io.Reader) (*Spool, error) {
	mem := cfg.Memory
	if mem <= 0 {
		mem = DefaultMemory
	}
	h := sha256.New()
	s := &Spool{}
	var head bytes.Buffer
	k, err := head.ReadFrom(io.LimitReader(r, int64(mem)+1))
	if err != nil {
		return nil, err
	}
	if cfg.Limit > 0 && k > cfg.Limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, cfg.Limit)
	}
	h.Write(head.Bytes())
	s.n = k
	if k <= int64(mem) {
		s.mem = head.Bytes()
		copy(s.sum[:], h.Sum(nil))
		return s, nil
	}
	if err := s.toFile(cfg.Dir, head.Bytes(), h, r, cfg.Limit); err != nil {
		s.Close()
		return nil, err
	}
	copy(s.sum[:], h.Sum(nil))
	return s, nil
}

// toFile writes head and the rest of r, encrypted, to an unlinked file.
func (s *Spool) toFile(dir string, head []byte, h io.Writer, r io.Reader, limit int64) error {
	f, err := os.CreateTemp(dir, "dxl-body-*")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStorage, err)
	}
	_ = os.Remove(f.Name()) // unnamed from now on: gone with the last descriptor
	s.file = f
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	if _, err := rand.Read(s.iv[:]); err != nil {
		return err
	}
	if s.ctr, err = aes.NewCipher(key[:]); err != nil {
		return err
	}
	w := &cipher.StreamWriter{S: cipher.NewCTR(s.ctr, s.iv[:]), W: storageErrors{f}}
	if _, err := w.Write(head); err != nil {
		return err
	}
	src := io.Reader(r)
	if limit > 0 {
		src = io.LimitReader(r, limit-s.n+1)
	}
	k, err := io.Copy(io.MultiWriter(w, h), src)
	s.n += k
	if err != nil {
		return err
	}
	if limit > 0 && s.n > limit {
		return fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return nil
}

// Len is the body's length in bytes.
func (s *Spool) Len() int64 { return s.n }

// SHA256 is the body's SHA-256.
func (s *Spool) SHA256() [32]byte { return s.sum }

// InMemory returns the body when it is held in memory.
func (s *Spool) InMemory() ([]byte, bool) { return s.mem, s.file == nil }

// Open returns a reader of the whole body from its start.
func (s *Spool) Open() io.Reader {
	if s.file == nil {
		return bytes.NewReader(s.mem)
	}
	return &fileReader{s: s}
}

// ReadAll returns the body in memory (a copy when it is on file).
func (s *Spool) ReadAll() ([]byte, error) {
	if s.file == nil {
		return s.mem, nil
	}
	return io.ReadAll(s.Open())
}

// Close removes the file, if any. The Spool is empty afterwards.
func (s *Spool) Close() error {
	var err error
	s.once.Do(func() {
		if s.file != nil {
			err = s.file.Close()
		}
	})
	return err
}

// fileReader decrypts the file from offset off on.
type fileReader struct {
	s      *Spool
	off    int64
	stream cipher.Stream
}

func (r *fileReader) Read(p []byte) (int, error) {
	if r.off >= r.s.n {
		return 0, io.EOF
	}
	if r.stream == nil {
		r.stream = r.s.streamAt(r.off)
	}
	p = p[:min(int64(len(p)), r.s.n-r.off)]
	k, err := r.s.file.ReadAt(p, r.off)
	r.stream.XORKeyStream(p[:k], p[:k])
	r.off += int64(k)
	if err == io.EOF && r.off < r.s.n {
		err = io.ErrUnexpectedEOF
	} else if err == io.EOF {
		err = nil
	}
	return k, err
}

// streamAt is the key stream from byte off (a block boundary or not).
func (s *Spool) streamAt(off int64) cipher.Stream {
	iv := s.iv
	ctr := binary.BigEndian.Uint64(iv[8:])
	blocks := uint64(off / aes.BlockSize)
	lo := ctr + blocks
	if lo < ctr { // carry into the high half, as CTR counts over all 128 bits
		binary.BigEndian.PutUint64(iv[:8], binary.BigEndian.Uint64(iv[:8])+1)
	}
	binary.BigEndian.PutUint64(iv[8:], lo)
	st := cipher.NewCTR(s.ctr, iv[:])
	if skip := off % aes.BlockSize; skip > 0 {
		var junk [aes.BlockSize]byte
		st.XORKeyStream(junk[:skip], junk[:skip])
	}
	return st
}

// storageErrors marks the file's write errors ErrStorage, apart from the
// reader's.
type storageErrors struct{ f *os.File }

func (w storageErrors) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrStorage, err)
	}
	return n, err
}
