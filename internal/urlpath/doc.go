// Package urlpath checks that a request path is in the canonical form
// http.ServeMux serves as is: a path it would clean ("." or ".."
// segments, "//") gets a redirect to the cleaned path, which DXL's HTTP
// APIs refuse in their own error shapes instead.
package urlpath
