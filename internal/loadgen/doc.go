// Package loadgen is the load generator behind `dxl bench`: a fixed number
// of workers send one request template over HTTP, as fast as they can or
// at a fixed total rate, for a number of requests or a duration, and Run
// returns the throughput, the latency distribution and the errors.
//
// Latencies are recorded in one HDR histogram (github.com/HdrHistogram/
// hdrhistogram-go, 3 significant digits, 1 µs to 10 min) shared by the
// workers: memory stays constant however long a run lasts. Only
// answered requests with a 2xx or 3xx status are recorded. With a fixed
// rate a request's latency is measured from the moment it was due, not
// from when a worker became free to send it, so a stalled target shows in
// the percentiles instead of hiding in fewer samples (coordinated
// omission).
//
// An error is counted by its kind: an HTTP status of 400 or more with the
// code of its X-DXL-Error header ("429 rate_limited"), the status alone
// when the answer carries no code ("502"), or "transport" when no answer
// came (refused connection, TLS failure, timeout); the first message of
// each kind is kept as an example.
//
// The package is leaf plumbing: it imports nothing of DXL.
package loadgen
