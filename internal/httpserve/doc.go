// Package httpserve builds DXL's long-lived HTTP servers with the same
// protective limits: a deadline for the request header (ReadHeaderTimeout),
// for the whole request with its body (ReadTimeout), for the answer
// (WriteTimeout, or none for a server whose handlers set their own), for an
// idle keep-alive connection (IdleTimeout), and a cap on the header block
// (MaxHeaderBytes, default 64 KiB). Over HTTP/1.1 net/http answers a larger
// header block with 431 Request Header Fields Too Large (it allows 4 KiB of
// slack; with the old default of 1 MiB a ~1 MB header set was read whole).
// Over HTTP/2 the cap is advertised in SETTINGS_MAX_HEADER_LIST_SIZE; a
// client that sends far more anyway gets GOAWAY and its connection closed,
// with no HTTP answer, which is what an "empty reply" from curl over TLS is.
//
// [Listen] wraps a listener so that one client IP holds at most
// Config.MaxConnsPerIP connections at once and the server at most
// Config.MaxConns. A connection over the per-IP cap is closed as soon as it
// is accepted, before any TLS handshake (so without an HTTP answer: there
// is no channel yet to send a 503 on), and counted in
// dxl_http_conns_refused_total; over the global cap, Accept waits for a
// connection to close (golang.org/x/net/netutil.LimitListener), so the
// kernel's backlog holds the excess.
//
// The package is leaf plumbing: it imports nothing of DXL.
package httpserve
