package archive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxManifest caps the manifest read.
const maxManifest = 16 << 20

// Extract unpacks an archive of format into dir, which must not exist or
// be empty, and checks every file against the manifest. On any error it
// removes dir: nothing is half restored.
func Extract(r io.Reader, dir, format string) (_ *Manifest, err error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%w: %s is not empty; restore into a new directory", ErrBad, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	got, m, err := unpack(tar.NewReader(r), dir)
	if err != nil {
		return nil, err
	}
	if m == nil || m.Format != format {
		return nil, fmt.Errorf("%w: no %s manifest (was the archive cut short?)", ErrBad, format)
	}
	if len(got) != len(m.Files) {
		return nil, fmt.Errorf("%w: %d files, the manifest lists %d", ErrBad, len(got), len(m.Files))
	}
	for _, f := range m.Files {
		if g, ok := got[f.Name]; !ok || g != f {
			return nil, fmt.Errorf("%w: %s does not match the manifest", ErrBad, f.Name)
		}
	}
	return m, nil
}

// unpack writes the archive's files under dir and returns what it wrote
// and the manifest.
func unpack(tr *tar.Reader, dir string) (map[string]File, *Manifest, error) {
	got := map[string]File{}
	var m *Manifest
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, m, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrBad, err)
		}
		name := filepath.FromSlash(hdr.Name)
		switch {
		case hdr.Typeflag != tar.TypeReg || !filepath.IsLocal(name):
			return nil, nil, fmt.Errorf("%w: entry %q is not a plain file inside the directory", ErrBad, hdr.Name)
		case m != nil:
			return nil, nil, fmt.Errorf("%w: %q after the manifest", ErrBad, hdr.Name)
		case hdr.Name == FileManifest:
			m = &Manifest{}
			if err := json.NewDecoder(io.LimitReader(tr, maxManifest)).Decode(m); err != nil {
				return nil, nil, fmt.Errorf("%w: manifest: %v", ErrBad, err)
			}
			continue
		case got[hdr.Name].Name != "":
			return nil, nil, fmt.Errorf("%w: %q twice", ErrBad, hdr.Name)
		}
		f, err := write(filepath.Join(dir, name), hdr.Name, tr)
		if err != nil {
			return nil, nil, err
		}
		got[hdr.Name] = f
	}
}

func write(path, name string, r io.Reader) (File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return File{}, err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return File{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("%w: %s: %v", ErrBad, name, err)
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
