package envelope

import (
	"io"
	"sync"
)

// HoldLast returns a reader of r that passes each piece of r on only once
// the next piece, or r's clean end, has been read: the last bytes come out
// only after r has ended with io.EOF, and after atEnd (if not nil) has
// run. When r fails instead (a HashingReader whose body does not match its
// signed hash), the bytes held are dropped and the error is returned, so
// whoever reads the result never receives a whole body that was not
// vouched for: a backend or client sees a body cut short, never a wrong one
// passed as complete. Its WriteTo writes from its own buffers (io.Copy
// allocates none).
func HoldLast(r io.Reader, atEnd func()) io.Reader {
	return &holdLast{r: r, atEnd: atEnd, free: *holdBufs.Get().(*[]byte), heldBuf: *holdBufs.Get().(*[]byte)}
}

// holdBufs are HoldLast's buffers, back in the pool once a body has been
// read to its end or its error.
var holdBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type holdLast struct {
	r       io.Reader
	atEnd   func()
	out     []byte // released, being read out
	held    []byte // read, not released yet
	heldBuf []byte // the buffer held is in
	free    []byte // the other buffer (out, when out is not empty)
	err     error
}

// fill reads the next piece of r, releasing the piece held before it (or,
// at r's clean end, every byte held). It returns false once r is done.
func (h *holdLast) fill() bool {
	if h.err != nil {
		if h.free != nil {
			free, held := h.free, h.heldBuf
			holdBufs.Put(&free)
			holdBufs.Put(&held)
			h.free, h.heldBuf = nil, nil
		}
		return false
	}
	k, err := h.r.Read(h.free)
	if k > 0 {
		h.out = h.held
		h.held, h.heldBuf, h.free = h.free[:k], h.free, h.heldBuf
	}
	switch {
	case err == io.EOF:
		if h.atEnd != nil {
			h.atEnd()
		}
		h.out, h.held, h.err = append(h.out, h.held...), nil, io.EOF
	case err != nil:
		h.out, h.held, h.err = nil, nil, err
	}
	return true
}

func (h *holdLast) Read(p []byte) (int, error) {
	for len(h.out) == 0 {
		if !h.fill() {
			return 0, h.err
		}
	}
	n := copy(p, h.out)
	h.out = h.out[n:]
	return n, nil
}

// WriteTo implements io.WriterTo.
func (h *holdLast) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		for len(h.out) > 0 {
			k, err := w.Write(h.out)
			n += int64(k)
			h.out = h.out[k:]
			if err != nil {
				return n, err
			}
		}
		if !h.fill() {
			if h.err == io.EOF {
				return n, nil
			}
			return n, h.err
		}
	}
}
