package notemd

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// resourceID returns the OneNote resource id in a Graph resource URL such as
// https://graph.microsoft.com/v1.0/users('x')/onenote/resources/0-abc!1-def/$value.
// isResource is true when the URL has that shape at all; ok is true when the id is also a
// plain OneNote id that can go into a Graph path unchanged. The host is not checked: only the
// id is ever used, never the URL, so a look-alike URL on another host fetches nothing from it.
func resourceID(raw string) (id string, isResource, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false, false // (what parsing it would conclude: no scheme)
	}
	path, plain := plainWebPath(raw)
	if !plain {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return "", false, false
		}
		path = u.EscapedPath()
	}
	// The escaped path's segments, so that an encoded "/" stays inside its segment (and then
	// makes the id invalid) instead of adding segments.
	onenote := false
	for rest, more := strings.Trim(path, "/"), true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		if strings.EqualFold(seg, "onenote") {
			onenote = true
			continue
		}
		if !onenote || !strings.EqualFold(seg, "resources") {
			continue
		}
		// .../onenote/resources/{id}[/$value|/content] and nothing else.
		if !more {
			return "", true, false
		}
		idSeg, tail, hasTail := strings.Cut(rest, "/")
		if hasTail && (strings.Contains(tail, "/") || tail != "$value" && tail != "content") {
			return "", true, false
		}
		id, err := url.PathUnescape(idSeg)
		if err != nil {
			return "", true, false
		}
		return id, true, validID(id)
	}
	return "", false, false
}

// plainWebPath is url.Parse(raw).EscapedPath() for the URLs Graph writes, without parsing:
// "https://" or "http://", a host of ASCII letters, digits, dots and hyphens, and a path of
// characters that url keeps as they are (letters, digits and -._~!$&'()*+,;=:@/; no "%",
// "?", "#" or "\"), which is then its own escaped form. plain is false for any other URL,
// which the caller parses.
func plainWebPath(raw string) (path string, plain bool) {
	rest, ok := strings.CutPrefix(raw, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(raw, "http://"); !ok {
			return "", false
		}
	}
	host := rest
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if host == "" {
		return "", false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '.' && c != '-' {
			return "", false
		}
	}
	for i := 0; i < len(path); i++ {
		if c := path[i]; !isASCIILetter(c) && !('0' <= c && c <= '9') && strings.IndexByte("-._~!$&'()*+,;=:@/", c) < 0 {
			return "", false
		}
	}
	return path, true
}

// validID mirrors onenote.ValidID: non-empty, at most 512 bytes, only ASCII letters, digits
// and - ! _ . and not "." or "..".
func validID(id string) bool {
	if id == "" || len(id) > 512 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '!', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// ref is what an <img> or <object> of the page refers to.
type ref struct {
	res      Resource
	ok       bool   // res is a valid Graph resource
	external string // an image's http(s) URL outside Graph ("" otherwise)
}

// imageRef resolves an <img>: the full-resolution resource when there is a valid one, else
// the displayed one; an http(s) URL that is not a Graph resource is external.
func imageRef(n *html.Node) ref {
	alt := collapseSpace(attr(n, "alt"))
	if id, _, ok := resourceID(attr(n, "data-fullres-src")); ok {
		typ := attr(n, "data-fullres-src-type")
		if typ == "" {
			typ = attr(n, "data-src-type")
		}
		return ref{res: Resource{ID: id, Kind: "image", Type: typ, Name: alt, FullRes: true}, ok: true}
	}
	src := strings.TrimSpace(attr(n, "src"))
	id, isRes, ok := resourceID(src)
	if ok {
		return ref{res: Resource{ID: id, Kind: "image", Type: attr(n, "data-src-type"), Name: alt}, ok: true}
	}
	if !isRes {
		if u, err := url.Parse(src); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
			return ref{res: Resource{Kind: "image", Name: alt}, external: u.String()}
		}
	}
	return ref{res: Resource{Kind: "image", Name: alt}}
}

// attachmentRef resolves an <object>: only OneNote attachments (data-attachment with a valid
// resource in data) count; any other object is dropped by the callers.
func attachmentRef(n *html.Node) ref {
	name := strings.TrimSpace(attr(n, "data-attachment"))
	if name == "" {
		return ref{}
	}
	id, _, ok := resourceID(attr(n, "data"))
	return ref{res: Resource{ID: id, Kind: "attachment", Type: attr(n, "type"), Name: name}, ok: ok}
}

// collectResources lists the resources under body in document order, each id once.
func collectResources(body *html.Node) []Resource {
	var out []Resource
	seen := map[string]bool{}
	for n := range descendants(body) {
		if n.Type != html.ElementNode || n.Namespace != "" {
			continue
		}
		var r ref
		switch n.DataAtom {
		case atom.Img:
			r = imageRef(n)
		case atom.Object:
			r = attachmentRef(n)
		default:
			continue
		}
		if r.ok && !seen[r.res.ID] {
			seen[r.res.ID] = true
			out = append(out, r.res)
		}
	}
	return out
}

// isWebURL reports whether s is an absolute http(s) URL.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
