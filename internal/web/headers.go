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
//
// A page carries eight headers: keep it so. net/http holds up to eight names in one small map;
// a ninth makes it (and the copy net/http makes of it for each response) a full table, measured
// at several allocations and about 1.5 KB more per response.
type fixedHeader struct {
	name  string
	value []string
}

func newFixedHeader(name, value string) fixedHeader {
	return fixedHeader{name: textproto.CanonicalMIMEHeaderKey(name), value: []string{value}}
}

func (f fixedHeader) set(h http.Header) { h[f.name] = f.value }

var (
	htmlContentType = newFixedHeader("Content-Type", "text/html; charset=utf-8")
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
