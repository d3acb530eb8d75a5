// Package e2e holds the end-to-end test that drives a real headless Chromium through the whole
// sign-in journey: the app, the emulated identity platform's pages, Graph /me and the sign-out.
//
// The test needs Chromium (Debian: `apt-get install chromium`). Without it the test skips,
// except when CI=true, where it fails. Screenshots of every page go to test-output/screenshots/.
package e2e
