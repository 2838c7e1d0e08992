// Package fsutil holds the file-writing rule DXL uses for keys,
// certificates and settings: a file is created once, never overwritten.
package fsutil
