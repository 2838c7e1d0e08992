package store

import (
	"time"
)

// watch runs step on the goroutine it is called from, first at once and
// then after every change of the FSM (a command applied, refused or not, or
// a snapshot restored), coalescing the changes that arrive within debounce
// of the first one. step returns how long it may sleep when nothing
// changes (to refresh or retry). watch returns when stop is closed. The FSM
// only closes a channel; observers do their I/O here, outside Apply.
func watch(f *fsm, debounce time.Duration, stop <-chan struct{}, step func() time.Duration) {
	for {
		ch := f.changed()
		wait := step()
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		case <-ch:
			t.Stop()
			if debounce > 0 {
				d := time.NewTimer(debounce)
				select {
				case <-stop:
					d.Stop()
					return
				case <-d.C:
				}
			}
		}
	}
}
