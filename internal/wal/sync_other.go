//go:build !linux

package wal

import "os"

func fdatasync(f *os.File) error { return f.Sync() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	_ = d.Sync() // not supported on every system
	return nil
}
