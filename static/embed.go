// Package static holds the app's own stylesheet and script: no CDN, so pages look right offline
// and under a strict Content-Security-Policy.
package static

import "embed"

// FS is served under /static/.
//
//go:embed *.css
var FS embed.FS
