// Package static holds the app's own stylesheet and scripts: no CDN, so pages look right offline
// and under a strict Content-Security-Policy.
package static

import "embed"

// FS is served under /static/.
//
//go:embed *.css *.js *.svg
var FS embed.FS
