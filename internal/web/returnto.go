package web

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds a return-to path kept with a sign-in in progress.
const maxReturnTo = 512

// returnPath returns p when it is a path on this app ("/notes/pages/1-abc"), else "". It is the
// only way a "return to" target enters a flow, so the app never redirects off its own origin
// (no open redirect): no scheme, no host, no "//" or "/\" (which browsers read as another host),
// no control characters.
func returnPath(p string) string {
	if p == "" || len(p) > maxReturnTo || p[0] != '/' {
		return ""
	}
	if strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return ""
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return u.RequestURI()
}

// loginURL is the sign-in page that comes back to the page r asked for.
func loginURL(requestURI string) string {
	if p := returnPath(requestURI); p != "" && p != "/" {
		return "/login?next=" + url.QueryEscape(p)
	}
	return "/login"
}
