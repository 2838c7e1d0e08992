// Package consumer is the consumer side of a DXL node: the HTTPS API for
// the agency's information systems and the call client toward the other
// agencies' nodes.
//
//   - api.go: the API's routes, authentication of the calling information
//     system (pinned TLS client certificate, bearer token or a request
//     signed with an access key, node/auth), the session-key endpoint, the
//     request ID and the exchange-layer error answer.
//   - ipcheck.go: node.json's ip_rules (services.IPFilter) applied to every
//     request before authentication, and to a SOAP call's service once it
//     is read; refusals counted for abnormal-access alerts (node/alert).
//   - routes.go: REST /r1/…, SOAP with the X-Road header and LGSP routes.
//   - errors.go: the API's own error table, the canonical-path check, the
//     form of an error answer (X-Road-Error; JSON, or X-Road's XML when
//     Accept prefers XML) and the message an information system reads.
//   - forward.go: one call end to end, the verified answer streamed back
//     and what it leaves in the logs (node/exchange).
//   - xsignature.go: X-Signature, the provider member's signature of the
//     answer to a write, exposed to the information system.
//   - call.go: the call client: sign the request envelope, pick and fail
//     over between provider nodes, verify the response.
//   - health.go: /health, /health/services/{id} and /listClients.
//
// It depends on the node only through small interfaces (Views, Dialer,
// Health); node assembles it.
package consumer
