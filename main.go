// Command dxl is the single DXL binary: agency node, registry, CA and
// time-stamping authority (cli).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dxl-network/dxl/cli"
	"github.com/dxl-network/dxl/internal/wal"
)

func main() {
	wal.ReserveSyncProcs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.App().RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dxl:", err)
		os.Exit(1)
	}
}
