package wal

import (
	"os"
	"runtime"
)

// SpareProcs is how many Go processors ReserveSyncProcs adds.
const SpareProcs = 2

// ReserveSyncProcs raises GOMAXPROCS by SpareProcs, unless the GOMAXPROCS
// environment variable sets it, and returns the new value. A goroutine
// that returns from a blocking disk sync (the journal's fdatasync, a bbolt
// commit) needs a processor to go on; when every processor runs CPU work
// it waits in the run queue, and with it every call waiting for that
// sync. On two cores a node served half as many calls as with two spare
// processors (docs/performance.md, "What the logs cost"). The operating
// system still shares the cores; only the queueing behind CPU work goes.
// The dxl binary calls it at start.
func ReserveSyncProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	n := runtime.GOMAXPROCS(0) + SpareProcs
	runtime.GOMAXPROCS(n)
	return n
}
