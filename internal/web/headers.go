package web

import (
	"net/http"
	"net/textproto"
)

// fixedHeader is a response header with the same value on every response, made once. Setting it
// is one map assignment, where Header.Set canonicalises the name and allocates the value each
// time: the headers every page carries were a twentieth of a signed-in page's cost under load.
//
// Every response shares the value slice. It holds one value and has no room for more, so a later
// Header.Add appends to a copy, and Header.Set replaces it; nothing in net/http or this app
// writes into a header's values in place (TestFixedHeadersStayFixed).
type fixedHeader struct {
	name  string
	value []string
}

func newFixedHeader(name, value string) fixedHeader {
	return fixedHeader{name: textproto.CanonicalMIMEHeaderKey(name), value: []string{value}}
}

func (f fixedHeader) set(h http.Header) { h[f.name] = f.value }

// add is Header.Add: the shared value when the header is not there yet.
func (f fixedHeader) add(h http.Header) {
	if old := h[f.name]; len(old) > 0 {
		h[f.name] = append(old, f.value[0])
		return
	}
	h[f.name] = f.value
}

var (
	htmlContentType = newFixedHeader("Content-Type", "text/html; charset=utf-8")
	varyCookie      = newFixedHeader("Vary", "Cookie")
	noStore         = newFixedHeader("Cache-Control", "no-store")
)

// securityHeaderSet: what securityHeaders sets on every response (see there).
func securityHeaderSet(csp string, https bool) []fixedHeader {
	hs := []fixedHeader{
		newFixedHeader("Content-Security-Policy", csp),
		newFixedHeader("X-Content-Type-Options", "nosniff"),
		newFixedHeader("Referrer-Policy", "no-referrer"),
		newFixedHeader("X-Frame-Options", "DENY"),
	}
	if https {
		hs = append(hs, newFixedHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
	}
	return hs
}
