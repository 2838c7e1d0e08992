package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	headerSize = 4 + 4 + 1 + 8
	suffix     = ".wal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segment is one file of the journal.
type segment struct {
	first, last LSN // last = first-1 while empty
	path        string
	streams     map[byte]LSN // highest LSN of each stream in the segment
}

func segmentName(first LSN) string { return fmt.Sprintf("%016x%s", first, suffix) }

func checksum(stream byte, lsn LSN, payload []byte) uint32 {
	var h [9]byte
	h[0] = stream
	binary.BigEndian.PutUint64(h[1:], lsn)
	return crc32.Update(crc32.Checksum(h[:], castagnoli), castagnoli, payload)
}

// appendEntry appends the encoding of one entry (package doc, "Files").
func appendEntry(b []byte, stream byte, lsn LSN, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.BigEndian.AppendUint32(b, checksum(stream, lsn, payload))
	b = append(b, stream)
	b = binary.BigEndian.AppendUint64(b, lsn)
	return append(b, payload...)
}

// errTorn is an entry cut short or failing its checksum.
var errTorn = errors.New("torn entry")

// reader decodes the entries of one segment.
type reader struct {
	r        *bufio.Reader
	maxEntry int
	off      int64 // end of the last whole entry
	buf      []byte
}

// next returns the next entry; io.EOF at a clean end, errTorn for a
// partial or damaged one. payload is valid until the next call.
func (d *reader) next() (stream byte, lsn LSN, payload []byte, err error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(d.r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, 0, nil, io.EOF
		}
		return 0, 0, nil, errTorn
	}
	n := binary.BigEndian.Uint32(h[0:])
	if int64(n) > int64(d.maxEntry) {
		return 0, 0, nil, errTorn
	}
	stream, lsn = h[8], binary.BigEndian.Uint64(h[9:])
	d.buf = slices.Grow(d.buf[:0], int(n))[:n]
	if _, err := io.ReadFull(d.r, d.buf); err != nil {
		return 0, 0, nil, errTorn
	}
	if checksum(stream, lsn, d.buf) != binary.BigEndian.Uint32(h[4:]) {
		return 0, 0, nil, errTorn
	}
	d.off += headerSize + int64(n)
	return stream, lsn, d.buf, nil
}

// scan reads the segment at path whose first LSN is first, calling fn
// (if not nil) for each entry in order. It returns the size of its whole
// entries, errTorn (with that size) when an entry after them is damaged,
// and ErrCorrupt when LSNs do not follow each other.
func scan(path string, first LSN, maxEntry int, seg *segment, fn func(byte, LSN, []byte) error) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	d := &reader{r: bufio.NewReaderSize(f, 256<<10), maxEntry: maxEntry}
	want := first
	for {
		stream, lsn, payload, err := d.next()
		switch {
		case errors.Is(err, io.EOF):
			return d.off, nil
		case err != nil:
			return d.off, err
		case lsn != want:
			return d.off, fmt.Errorf("%w: %s: LSN %d where %d was due", ErrCorrupt, filepath.Base(path), lsn, want)
		}
		want++
		if seg != nil {
			seg.last, seg.streams[stream] = lsn, lsn
		}
		if fn != nil {
			if err := fn(stream, lsn, payload); err != nil {
				return d.off, err
			}
		}
	}
}

// load finds and checks the segments and opens the last for appending.
func (l *Log) load() error {
	names, err := os.ReadDir(l.cfg.Dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	var firsts []LSN
	for _, e := range names {
		hex, ok := strings.CutSuffix(e.Name(), suffix)
		if !ok || e.IsDir() {
			continue
		}
		first, err := strconv.ParseUint(hex, 16, 64)
		if err != nil || len(hex) != 16 || first == 0 {
			return fmt.Errorf("%w: unexpected file %s", ErrCorrupt, e.Name())
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)
	for i, first := range firsts {
		seg := &segment{first: first, last: first - 1, path: filepath.Join(l.cfg.Dir, segmentName(first)), streams: map[byte]LSN{}}
		if i > 0 && first != l.segs[i-1].last+1 {
			return fmt.Errorf("%w: %s follows a segment ending at LSN %d", ErrCorrupt, filepath.Base(seg.path), l.segs[i-1].last)
		}
		size, err := scan(seg.path, first, l.cfg.MaxEntry, seg, nil)
		if errors.Is(err, errTorn) && i == len(firsts)-1 {
			l.log.Warn("journal ends in a torn entry; cutting it off", "segment", filepath.Base(seg.path), "at", size)
			if err = os.Truncate(seg.path, size); err != nil {
				err = fmt.Errorf("wal: %w", err)
			}
		} else if errors.Is(err, errTorn) {
			err = fmt.Errorf("%w: %s: damaged entry at offset %d", ErrCorrupt, filepath.Base(seg.path), size)
		}
		if err != nil {
			return err
		}
		l.segs = append(l.segs, seg)
		l.size = size
	}
	if len(l.segs) == 0 {
		return l.create(1)
	}
	last := l.segs[len(l.segs)-1]
	f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	l.f, l.next = f, last.last+1
	return nil
}

// Replay calls fn, in LSN order, for each entry of stream after LSN
// after that the journal holds. A store calls it at open, before it
// appends. payload is valid only during the call.
func (l *Log) Replay(stream byte, after LSN, fn func(lsn LSN, payload []byte) error) error {
	l.mu.Lock()
	segs := make([]segment, 0, len(l.segs))
	for _, s := range l.segs {
		if s.streams[stream] > after {
			segs = append(segs, segment{first: s.first, last: s.last, path: s.path})
		}
	}
	l.mu.Unlock()
	stop := errors.New("end of the segment as Replay found it")
	for _, s := range segs {
		seen := s.first - 1
		_, err := scan(s.path, s.first, l.cfg.MaxEntry, nil, func(st byte, lsn LSN, p []byte) error {
			if lsn > s.last {
				return stop
			}
			seen = lsn
			if st == stream && lsn > after {
				return fn(lsn, p)
			}
			return nil
		})
		// An entry being appended past s.last may read as torn.
		if err != nil && !errors.Is(err, stop) && !(errors.Is(err, errTorn) && seen == s.last) {
			return err
		}
	}
	return nil
}
