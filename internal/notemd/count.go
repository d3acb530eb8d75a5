package notemd

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// CountResources is len(Resources(page)) without building the page's tree: a page view only
// needs to know whether the download is a .md or a .zip, and parsing a large page whole for that
// was half of the page view's CPU. Pages with SVG or MathML, where the HTML parser's namespace
// rules decide what counts, take the full parse.
//
// Only <img> and <object> tags have their attributes read (z.Token would copy every tag's),
// and the self-closing repair is skipped when a byte scan shows it would change nothing.
func CountResources(page []byte) int {
	if !utf8.Valid(page) {
		page = bytes.ToValidUTF8(page, []byte("\uFFFD"))
	}
	if hasTagPrefix(page, "svg", "math") {
		res, _ := Resources(page)
		return len(res)
	}
	src := bytes.TrimPrefix(page, []byte("\xef\xbb\xbf"))
	if !parsesAsIs(src) {
		src = expandSelfClosing(src)
	}
	z := html.NewTokenizer(bytes.NewReader(src))
	seen := map[string]bool{}
	var n html.Node
	for {
		switch z.Next() {
		case html.ErrorToken:
			return len(seen)
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			a := atom.Lookup(name)
			if a != atom.Img && a != atom.Object {
				continue
			}
			// The element as z.Token would give it.
			n = html.Node{Type: html.ElementNode, DataAtom: a, Data: a.String(), Attr: n.Attr[:0]}
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				n.Attr = append(n.Attr, html.Attribute{Key: atom.String(k), Val: string(v)})
			}
			var r ref
			if a == atom.Img {
				r = imageRef(&n)
			} else {
				r = attachmentRef(&n)
			}
			if r.ok {
				seen[r.res.ID] = true
			}
		}
	}
}
