// Package browsertest is what the consoles' browser tests share: finding
// Debian's Chromium (a test fails without it unless DXL_SKIP_BROWSER is
// set, and is skipped under -short), a headless browser context, the
// R-T4 page timings, axe-core's accessibility check (vendored in axe/,
// MPL-2.0, injected through DevTools because the pages' CSP allows no
// script) and screenshots for docs/console.md. Only tests import it.
package browsertest
