// Package errcode is DXL's one error codec: sentinel error → stable machine
// code → HTTP status.
//
// Every package declares one block of sentinel errors and one Table that
// gives each sentinel its code (snake_case, stable: codes travel in API
// error bodies, the X-DXL-Error header, error frames between nodes and
// forwarded registry writes) and the HTTP status an API answers with. A
// package's table is tried in its declared order, so an error that wraps two
// sentinels always maps the same way. An API that returns errors from the
// packages below it joins their tables (Join) instead of copying them.
//
// The receiving side of a code turns it back into the sentinel with
// Sentinel, so errors.Is works across a process boundary.
package errcode
