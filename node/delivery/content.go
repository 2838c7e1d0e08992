package delivery

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Content files: a 20-byte header (magic "DXD1", 16 random salt bytes),
// then the content in chunks of ChunkSize plaintext bytes (the last one
// shorter), each sealed with AES-256-GCM under a key derived from the
// node's delivery key and the salt (HKDF-SHA256), nonce = chunk index.
// The chunk index is also the additional data, so chunks cannot be
// reordered. Integrity of the whole is the signed SHA-256 of the content;
// the chunk tags keep a torn or tampered file from being served.
const (
	ChunkSize   = 64 << 10
	fileMagic   = "DXD1"
	saltLen     = 16
	headerLen   = len(fileMagic) + saltLen
	tagLen      = 16
	sealedChunk = ChunkSize + tagLen
)

// fileAEAD returns the AEAD of a content file with salt.
func fileAEAD(key, salt []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, key, salt, "DXL-DELIVERY-FILE-v1", 32)
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func chunkNonce(i uint64) (nonce, ad []byte) {
	nonce = make([]byte, 12)
	binary.BigEndian.PutUint64(nonce[4:], i)
	return nonce, nonce[4:]
}

// contentWriter writes a content file: plaintext in, sealed chunks out,
// SHA-256 and size of the plaintext counted as they pass.
type contentWriter struct {
	f     *os.File
	aead  cipher.AEAD
	buf   []byte // plaintext of the chunk being filled
	out   []byte
	index uint64
	size  int64
}

// createContent creates the content file at path (truncating any).
func createContent(path string, key []byte) (*contentWriter, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := fileAEAD(key, salt)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	if _, err := f.Write(append([]byte(fileMagic), salt...)); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	return &contentWriter{f: f, aead: aead, buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedChunk)}, nil
}

// resumeContent opens a partly written content file to go on after its
// last whole, intact chunk (a torn or unreadable tail is cut off). It
// returns the writer and the plaintext bytes the file holds.
func resumeContent(path string, key []byte) (*contentWriter, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, 0, err
	}
	aead, chunks, err := scanWhole(f, key)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	end := int64(headerLen) + int64(chunks)*sealedChunk
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	held := int64(chunks) * ChunkSize
	return &contentWriter{f: f, aead: aead, index: chunks, size: held,
		buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedChunk)}, held, nil
}

// scanWhole returns the file's AEAD and how many whole chunks from the
// start open (the first that does not ends the intact part).
func scanWhole(f *os.File, key []byte) (cipher.AEAD, uint64, error) {
	head := make([]byte, headerLen)
	if _, err := io.ReadFull(f, head); err != nil || string(head[:len(fileMagic)]) != fileMagic {
		return nil, 0, fmt.Errorf("%w: content file header", ErrStorage)
	}
	aead, err := fileAEAD(key, head[len(fileMagic):])
	if err != nil {
		return nil, 0, err
	}
	buf := make([]byte, sealedChunk)
	var i uint64
	for {
		if _, err := io.ReadFull(f, buf); err != nil {
			return aead, i, nil
		}
		nonce, ad := chunkNonce(i)
		if _, err := aead.Open(buf[:0], nonce, buf, ad); err != nil {
			return aead, i, nil
		}
		i++
	}
}

// Write seals whole chunks as they fill.
func (w *contentWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):ChunkSize], p)
		w.buf = w.buf[:len(w.buf)+k]
		p = p[k:]
		if len(w.buf) == ChunkSize {
			if err := w.seal(); err != nil {
				return n - len(p), err
			}
		}
	}
	w.size += int64(n)
	return n, nil
}

func (w *contentWriter) seal() error {
	nonce, ad := chunkNonce(w.index)
	w.out = w.aead.Seal(w.out[:0], nonce, w.buf, ad)
	if _, err := w.f.Write(w.out); err != nil {
		return fmt.Errorf("%w: %v", ErrStorage, err)
	}
	w.index++
	w.buf = w.buf[:0]
	return nil
}

// Sync puts the whole chunks written so far on disk (the partial one in
// memory is not: a resumed transfer starts after the last whole chunk).
func (w *contentWriter) Sync() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("%w: %v", ErrStorage, err)
	}
	return nil
}

// Finish seals the last chunk, syncs and closes the file.
func (w *contentWriter) Finish() error {
	if len(w.buf) > 0 {
		if err := w.seal(); err != nil {
			w.f.Close()
			return err
		}
	}
	if err := w.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// Abort closes the file, leaving what was synced.
func (w *contentWriter) Abort() { _ = w.f.Close() }

// contentReader reads a content file's plaintext, with Seek for range
// requests and resumed transfers; one chunk in memory at a time.
type contentReader struct {
	f     *os.File
	aead  cipher.AEAD
	size  int64 // plaintext size
	off   int64
	plain []byte // the decrypted chunk holding off, or nil
	pidx  int64  // its index
	enc   []byte
}

// openContent opens the content file at path.
func openContent(path string, key []byte) (*contentReader, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: content deleted", ErrNotFound)
		}
		return nil, fmt.Errorf("%w: %v", ErrStorage, err)
	}
	st, err := f.Stat()
	head := make([]byte, headerLen)
	if err == nil {
		_, err = io.ReadFull(f, head)
	}
	if err != nil || string(head[:len(fileMagic)]) != fileMagic {
		f.Close()
		return nil, fmt.Errorf("%w: content file header", ErrStorage)
	}
	aead, err := fileAEAD(key, head[len(fileMagic):])
	if err != nil {
		f.Close()
		return nil, err
	}
	body := st.Size() - int64(headerLen)
	chunks := (body + sealedChunk - 1) / sealedChunk
	return &contentReader{f: f, aead: aead, size: body - chunks*tagLen, pidx: -1, enc: make([]byte, sealedChunk)}, nil
}

// Size is the plaintext size.
func (r *contentReader) Size() int64 { return r.size }

// Read reads plaintext from the current offset.
func (r *contentReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	idx := r.off / ChunkSize
	if idx != r.pidx {
		if err := r.load(idx); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.plain[r.off-idx*ChunkSize:])
	r.off += int64(n)
	return n, nil
}

func (r *contentReader) load(idx int64) error {
	n := int64(sealedChunk)
	if rest := r.size - idx*ChunkSize; rest < ChunkSize {
		n = rest + tagLen
	}
	buf := r.enc[:n]
	if _, err := r.f.ReadAt(buf, int64(headerLen)+idx*sealedChunk); err != nil {
		return fmt.Errorf("%w: content chunk %d: %v", ErrStorage, idx, err)
	}
	nonce, ad := chunkNonce(uint64(idx))
	plain, err := r.aead.Open(r.plain[:0], nonce, buf, ad)
	if err != nil {
		return fmt.Errorf("%w: content chunk %d does not open", ErrStorage, idx)
	}
	r.plain, r.pidx = plain, idx
	return nil
}

// Seek sets the offset (io.Seeker).
func (r *contentReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, fmt.Errorf("%w: negative offset", ErrBadMeta)
	}
	r.off = offset
	return offset, nil
}

// Close closes the file.
func (r *contentReader) Close() error { return r.f.Close() }

// hashContent returns the SHA-256 and size of the file's plaintext.
func hashContent(path string, key []byte) ([32]byte, int64, error) {
	r, err := openContent(path, key)
	if err != nil {
		return [32]byte{}, 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, r, make([]byte, ChunkSize))
	if err != nil {
		return [32]byte{}, 0, err
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum, n, nil
}
