package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// FileManifest is the last entry of an archive.
const FileManifest = "MANIFEST.json"

// ErrBad is an archive Extract refuses.
var ErrBad = errors.New("archive: bad backup")

// Manifest describes an archive.
type Manifest struct {
	Format  string          `json:"format"`
	Created time.Time       `json:"created"`
	Meta    json.RawMessage `json:"meta,omitempty"`
	Files   []File          `json:"files"`
}

// File is one file of an archive.
type File struct {
	Name   string `json:"name"` // slash-separated, relative
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Writer writes an archive.
type Writer struct {
	tw  *tar.Writer
	m   Manifest
	cur *File
	h   hash.Hash
	n   int64
}

// NewWriter starts an archive of format on w.
func NewWriter(w io.Writer, format string, now time.Time) *Writer {
	return &Writer{tw: tar.NewWriter(w), m: Manifest{Format: format, Created: now.UTC()}}
}

// Add adds a file of size bytes that write writes.
func (w *Writer) Add(name string, size int64, write func(io.Writer) error) error {
	e, err := w.Open(name, size)
	if err == nil {
		err = write(e)
	}
	if err == nil {
		err = w.CloseEntry()
	}
	if err != nil {
		return fmt.Errorf("archive: %s: %w", name, err)
	}
	return nil
}

// Open starts a file of size bytes; write it, then CloseEntry.
func (w *Writer) Open(name string, size int64) (io.Writer, error) {
	if err := w.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: w.m.Created, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	w.cur, w.h, w.n = &File{Name: name, Size: size}, sha256.New(), 0
	return entry{w}, nil
}

type entry struct{ w *Writer }

func (e entry) Write(p []byte) (int, error) {
	n, err := e.w.tw.Write(p)
	e.w.h.Write(p[:n])
	e.w.n += int64(n)
	return n, err
}

// CloseEntry ends the file Open started.
func (w *Writer) CloseEntry() error {
	if w.n != w.cur.Size {
		return fmt.Errorf("archive: %s: wrote %d bytes of %d", w.cur.Name, w.n, w.cur.Size)
	}
	w.cur.SHA256 = hex.EncodeToString(w.h.Sum(nil))
	w.m.Files = append(w.m.Files, *w.cur)
	return nil
}

// AddTree adds every regular file under dir but those whose relative
// slash path is in skip (a directory in skip is left out whole). Files
// must not be rewritten in place meanwhile; appending is safe.
func (w *Writer) AddTree(dir string, skip []string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if slices.Contains(skip, filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		// A file growing meanwhile is copied as it was when stat'ed: what
		// a crash at that moment would have left of it.
		return w.Add(filepath.ToSlash(rel), fi.Size(), func(e io.Writer) error { _, err := io.CopyN(e, f, fi.Size()); return err })
	})
}

// Finish writes the manifest, with meta, and closes the archive.
func (w *Writer) Finish(meta any) (*Manifest, error) {
	if meta != nil {
		raw, err := json.Marshal(meta)
		if err != nil {
			return nil, err
		}
		w.m.Meta = raw
	}
	raw, err := json.MarshalIndent(w.m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := w.tw.WriteHeader(&tar.Header{Name: FileManifest, Mode: 0o600, Size: int64(len(raw)), ModTime: w.m.Created, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := w.tw.Write(raw); err != nil {
		return nil, err
	}
	return &w.m, w.tw.Close()
}
