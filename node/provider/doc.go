// Package provider is the provider side of a DXL node: it serves the
// services the node provides to other nodes.
//
//   - provider.go: the provided services compiled from node.json (OpenAPI
//     descriptions, backend clients, access rights into services.Gate).
//   - stream.go: one call on /dxl/call/1.0.0: the request envelope's
//     checks, one call of the gate, the signed response or an error frame,
//     and what the call leaves in the logs (node/exchange).
//   - schema.go: the JSON Schemas of each version's data type (schemas in
//     node.json), compiled at start: request schemas go to the gate,
//     response schemas (validate_responses) check an answer before it is
//     signed.
//   - mask.go: node.json's masking applied to a JSON answer for its
//     consumer before it is signed.
//   - member.go: the client and provider subsystems of a call checked
//     against the signed configuration (registered, member active).
//   - backend.go: the backend call, bound to the node's lifetime and the
//     version's timeout.
//   - meta.go: metadata calls (listMethods, allowedMethods, getOpenAPI).
//   - health.go: level-2 health (each version's backend) and its history.
//
// It depends on the node only through small interfaces (Views,
// HealthSink); node assembles it.
package provider
