// Package doctor holds what `dxl node doctor` and `dxl registry doctor`
// share: the report of findings (ok, warn or error, each with its fix)
// and the checks that do not depend on the role: certificate files and
// their expiry, free disk space, bbolt consistency, free listening ports.
package doctor
