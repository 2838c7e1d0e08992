package node

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backups (Backup, Restore): a tar archive of the node directory whose
// databases are consistent snapshots taken while the node serves, keys
// included as they are on disk (sealed with the passphrase), and a
// manifest last with every file's size and SHA-256.
const (
	FileBackupManifest = "MANIFEST.json"
	BackupFormat       = "dxl-node-backup-v1"
)

// ErrBackup is a backup archive Restore refuses.
var ErrBackup = errors.New("node: bad backup")

// BackupManifest describes a backup archive.
type BackupManifest struct {
	Format        string       `json:"format"`
	Member        string       `json:"member"`
	PeerID        string       `json:"peer_id"`
	Created       time.Time    `json:"created"`
	MessageLogSeq uint64       `json:"message_log_seq"` // the last message-log record it holds
	Files         []BackupFile `json:"files"`
}

// BackupFile is one file of a backup.
type BackupFile struct {
	Name   string `json:"name"` // slash-separated, relative to the node directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// backupSkip are what a backup leaves out: the databases (snapshotted
// instead), the journal (the snapshots hold what it held), the spool of
// calls in flight and the admin socket.
var backupSkip = []string{FileDB, FileMessageLog, FileRecords, DirJournal, "spool", FileAdminSocket}

// Backup writes a backup of the running node to w: it commits the logs,
// then copies the files of its directory and a snapshot of each database.
// Calls go on meanwhile; those answered after the snapshots started are
// not in it.
func (n *Node) Backup(ctx context.Context, w io.Writer) (*BackupManifest, error) {
	if err := errors.Join(n.msglog.Flush(ctx), n.records.Flush(ctx)); err != nil {
		return nil, fmt.Errorf("backup: committing the logs: %w", err)
	}
	b := &backupWriter{tw: tar.NewWriter(w), now: n.now().UTC(),
		m: &BackupManifest{Format: BackupFormat, Member: n.member.String(), PeerID: n.self, Created: n.now().UTC()}}
	if err := b.files(n.dir); err != nil {
		return nil, err
	}
	snap := func(name string, view func(func(*bolt.Tx) error) error) error {
		return view(func(tx *bolt.Tx) error {
			return b.entry(name, tx.Size(), func(w io.Writer) error { _, err := tx.WriteTo(w); return err })
		})
	}
	if err := snap(FileDB, n.db.View); err != nil {
		return nil, err
	}
	b.m.MessageLogSeq = n.msglog.Stats().LastSeq
	for _, s := range []struct {
		name string
		snap func(func(int64) (io.Writer, error)) error
	}{{FileMessageLog, n.msglog.Snapshot}, {FileRecords, n.records.Snapshot}} {
		name := s.name
		err := s.snap(func(size int64) (io.Writer, error) { return b.open(name, size) })
		if err == nil {
			err = b.close()
		}
		if err != nil {
			return nil, fmt.Errorf("backup: %s: %w", name, err)
		}
	}
	return b.m, b.finish()
}

type backupWriter struct {
	tw  *tar.Writer
	now time.Time
	m   *BackupManifest
	cur *BackupFile
	h   hash.Hash
	n   int64
}

// files adds every regular file of dir but backupSkip.
func (b *backupWriter) files(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if slices.Contains(backupSkip, filepath.ToSlash(rel)) {
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
		return b.entry(filepath.ToSlash(rel), fi.Size(), func(w io.Writer) error { _, err := io.Copy(w, f); return err })
	})
}

// entry adds one file of size bytes written by write.
func (b *backupWriter) entry(name string, size int64, write func(io.Writer) error) error {
	w, err := b.open(name, size)
	if err == nil {
		err = write(w)
	}
	if err == nil {
		err = b.close()
	}
	if err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	return nil
}

func (b *backupWriter) open(name string, size int64) (io.Writer, error) {
	if err := b.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: b.now, Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	b.cur, b.h, b.n = &BackupFile{Name: name, Size: size}, sha256.New(), 0
	return b, nil
}

func (b *backupWriter) Write(p []byte) (int, error) {
	n, err := b.tw.Write(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	return n, err
}

func (b *backupWriter) close() error {
	if b.n != b.cur.Size {
		return fmt.Errorf("wrote %d bytes of %d", b.n, b.cur.Size)
	}
	b.cur.SHA256 = hex.EncodeToString(b.h.Sum(nil))
	b.m.Files = append(b.m.Files, *b.cur)
	return nil
}

// finish writes the manifest and closes the archive.
func (b *backupWriter) finish() error {
	raw, err := json.MarshalIndent(b.m, "", "  ")
	if err != nil {
		return err
	}
	if err := b.tw.WriteHeader(&tar.Header{Name: FileBackupManifest, Mode: 0o600, Size: int64(len(raw)), ModTime: b.now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := b.tw.Write(raw); err != nil {
		return err
	}
	return b.tw.Close()
}

// Restore unpacks a backup archive into dir, which must not exist or be
// empty, checking every file against the manifest. On any error it removes
// what it wrote: nothing is half restored. Start the node on dir
// afterwards (dxl node serve): it continues the message log's hash chain.
func Restore(r io.Reader, dir string) (_ *BackupManifest, err error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%w: %s is not empty; restore into a new directory", ErrBackup, dir)
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
	if m == nil || m.Format != BackupFormat {
		return nil, fmt.Errorf("%w: no %s manifest (was the archive cut short?)", ErrBackup, BackupFormat)
	}
	if len(got) != len(m.Files) {
		return nil, fmt.Errorf("%w: %d files, the manifest lists %d", ErrBackup, len(got), len(m.Files))
	}
	for _, f := range m.Files {
		if g, ok := got[f.Name]; !ok || g != f {
			return nil, fmt.Errorf("%w: %s does not match the manifest", ErrBackup, f.Name)
		}
	}
	return m, nil
}

// unpack writes the archive's files under dir and returns what it wrote
// and the manifest.
func unpack(tr *tar.Reader, dir string) (map[string]BackupFile, *BackupManifest, error) {
	got := map[string]BackupFile{}
	var m *BackupManifest
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return got, m, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrBackup, err)
		}
		name := filepath.FromSlash(hdr.Name)
		switch {
		case hdr.Typeflag != tar.TypeReg || !filepath.IsLocal(name):
			return nil, nil, fmt.Errorf("%w: entry %q is not a plain file inside the node directory", ErrBackup, hdr.Name)
		case m != nil:
			return nil, nil, fmt.Errorf("%w: %q after the manifest", ErrBackup, hdr.Name)
		case hdr.Name == FileBackupManifest:
			m = &BackupManifest{}
			if err := json.NewDecoder(io.LimitReader(tr, 16<<20)).Decode(m); err != nil {
				return nil, nil, fmt.Errorf("%w: manifest: %v", ErrBackup, err)
			}
			continue
		case got[hdr.Name].Name != "":
			return nil, nil, fmt.Errorf("%w: %q twice", ErrBackup, hdr.Name)
		}
		f, err := writeRestored(filepath.Join(dir, name), hdr.Name, tr)
		if err != nil {
			return nil, nil, err
		}
		got[hdr.Name] = f
	}
}

func writeRestored(path, name string, r io.Reader) (BackupFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return BackupFile{}, err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return BackupFile{}, err
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
		return BackupFile{}, fmt.Errorf("%w: %s: %v", ErrBackup, name, err)
	}
	return BackupFile{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// adminBackup streams a backup (tar) of the running node (audited).
func (n *Node) adminBackup(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-tar")
	m, err := n.Backup(r.Context(), w)
	if err != nil {
		n.log.Error("backup failed", "error", err)
		panic(http.ErrAbortHandler) // the client sees a cut archive, which Restore refuses
	}
	n.auditAction(r, "node.backup", m.PeerID, fmt.Sprintf("%d files, message log through %d", len(m.Files), m.MessageLogSeq))
}
