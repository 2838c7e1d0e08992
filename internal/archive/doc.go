// Package archive writes and reads DXL's backup archives: a tar of
// regular files, each entry relative to the directory it came from, and a
// last entry MANIFEST.json naming the archive's format, when it was made,
// what its maker says of it (Meta) and every file's size and SHA-256.
// Extract unpacks into an empty directory and checks every file against
// the manifest; a cut, damaged or altered archive is refused and what was
// written is removed, so nothing is half restored. Used by node backups
// and registry server backups.
package archive
