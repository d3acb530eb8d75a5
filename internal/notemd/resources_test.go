package notemd

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// resourceIDReference is resourceID as first written: every URL parsed, its path split.
func resourceIDReference(raw string) (id string, isResource, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", false, false // (what parsing it would conclude: no scheme)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false, false
	}
	// Split the escaped path, so that an encoded "/" stays inside its segment (and then makes
	// the id invalid) instead of adding segments.
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	onenote := -1
	for i, s := range segs {
		if strings.EqualFold(s, "onenote") {
			onenote = i
		}
		if onenote < 0 || i <= onenote || !strings.EqualFold(s, "resources") {
			continue
		}
		// .../onenote/resources/{id}[/$value|/content] and nothing else.
		rest := segs[i+1:]
		if len(rest) == 0 || len(rest) > 2 || (len(rest) == 2 && rest[1] != "$value" && rest[1] != "content") {
			return "", true, false
		}
		id, err := url.PathUnescape(rest[0])
		if err != nil {
			return "", true, false
		}
		return id, true, validID(id)
	}
	return "", false, false
}

// TestResourceIDPlain: resourceID (plain URLs read without parsing, segments without
// splitting), safeHref and assembleURL (plain URLs kept as they are) give what the versions
// that parse every URL give, on URLs near Graph's shape.
func TestResourceIDPlain(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	schemes := []string{"https://", "http://", "https://", "HTTPS://", "https:", "https:/", "ftp://", "", " https://", "mailto:", "data:"}
	hosts := []string{"graph.microsoft.com", "graph.microsoft.com", "", "h:8080", "a@b", "[::1]", "x%41", "x y", "h-1.example", "é.example"}
	segs := []string{"v1.0", "me", "onenote", "OneNote", "resources", "RESOURCES", "0-abc!1-def", "0-a%2Fb", "0-a%21b",
		"$value", "content", "", "x y", "?q=1", "#f", "%zz", "ſ", "..", "(x)", "'", "users('a@b')", "a;b=c", "*"}
	for range 50000 {
		var b strings.Builder
		b.WriteString(schemes[r.IntN(len(schemes))])
		b.WriteString(hosts[r.IntN(len(hosts))])
		for range r.IntN(8) {
			b.WriteString("/")
			b.WriteString(segs[r.IntN(len(segs))])
		}
		if r.IntN(10) == 0 {
			b.WriteString("/")
		}
		raw := b.String()
		id, isRes, ok := resourceID(raw)
		wid, wisRes, wok := resourceIDReference(raw)
		if id != wid || isRes != wisRes || ok != wok {
			t.Fatalf("resourceID(%q) = %q, %v, %v; the parsing version gives %q, %v, %v", raw, id, isRes, ok, wid, wisRes, wok)
		}
		trimmed := strings.TrimSpace(raw)
		got, gok := safeHref(raw)
		if want, wok := safeHrefParsed(trimmed); got != want || gok != wok {
			t.Fatalf("safeHref(%q) = %q, %v; the parsing version gives %q, %v", raw, got, gok, want, wok)
		}
		if want := assembleURLParsed(trimmed); trimmed != "#" && assembleURL(raw) != want {
			t.Fatalf("assembleURL(%q) = %q; the parsing version gives %q", raw, assembleURL(raw), want)
		}
		if path, plain := plainWebPath(strings.TrimSpace(raw)); plain {
			if u, err := url.Parse(strings.TrimSpace(raw)); err != nil || u.EscapedPath() != path {
				t.Fatalf("plainWebPath(%q) = %q; url.Parse gives %v, %v", raw, path, u, err)
			}
		}
	}
}
