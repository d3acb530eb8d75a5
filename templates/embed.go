// Package templates holds the app's html/template pages, embedded in the binary and parsed once
// at start-up.
package templates

import "embed"

// FS holds base.html (the layout) and one file per page.
//
//go:embed *.html
var FS embed.FS
