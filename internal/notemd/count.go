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
func CountResources(page []byte) int {
	if !utf8.Valid(page) {
		page = bytes.ToValidUTF8(page, []byte("\uFFFD"))
	}
	lower := bytes.ToLower(page)
	if bytes.Contains(lower, []byte("<svg")) || bytes.Contains(lower, []byte("<math")) {
		res, _ := Resources(page)
		return len(res)
	}
	z := html.NewTokenizer(bytes.NewReader(expandSelfClosing(bytes.TrimPrefix(page, []byte("\xef\xbb\xbf")))))
	seen := map[string]bool{}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return len(seen)
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			n := &html.Node{Type: html.ElementNode, DataAtom: t.DataAtom, Data: t.Data, Attr: t.Attr}
			var r ref
			switch t.DataAtom {
			case atom.Img:
				r = imageRef(n)
			case atom.Object:
				r = attachmentRef(n)
			default:
				continue
			}
			if r.ok {
				seen[r.res.ID] = true
			}
		}
	}
}
