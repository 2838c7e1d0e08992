// Package alert detects abnormal access at a node's information-system API
// (R-K4): bursts of refusals (denied addresses, failed authentication,
// client mismatches, access denied) from one client address or one
// subsystem within a sliding window, and calls outside a subsystem's
// usual hours or far above its usual volume.
//
//   - alert.go: [Config] (node.json's alerts, defaults and Validate) and the
//     [Detector]: [Detector.Record] counts one refusal and, when a key
//     reaches the threshold within the window, raises one alert per window:
//     a structured slog event (component "alert"), the Prometheus counter
//     dxl_abnormal_access_alerts_total{kind} and, when a webhook is set, a
//     JSON POST sent in the background.
//   - usual.go: calls against a subsystem's usual hours and volume
//     (alerts.usual): [Detector.Call] raises "off_hours" and "volume"
//     alerts, once per subsystem, side and hour.
//   - webhook.go: the webhook sender: a bounded queue (an alert is dropped,
//     and counted, rather than block the data path), a timeout per attempt
//     and retries with exponential backoff.
package alert
