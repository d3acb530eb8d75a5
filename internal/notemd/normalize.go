package notemd

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// dropped are elements that never reach either output, content and all: active content,
// forms, embedded documents and media, document metadata. <object> and <iframe> are handled
// first (attachments and videos), and <math> becomes its text.
var dropped = map[string]bool{
	"script": true, "style": true, "template": true, "noscript": true, "noembed": true,
	"noframes": true, "svg": true, "embed": true, "applet": true, "canvas": true,
	"audio": true, "video": true, "source": true, "track": true, "picture": true,
	"form": true, "input": true, "button": true, "select": true, "textarea": true,
	"datalist": true, "output": true, "frame": true, "frameset": true, "iframe": true,
	"object": true, "param": true, "base": true, "meta": true, "link": true, "title": true,
	"head": true, "dialog": true, "portal": true, "map": true, "area": true, "xmp": true,
	"plaintext": true, "marquee": true, "slot": true,
}

// normalize applies what both outputs share: dangerous or meaningless elements removed and
// MathML turned into readable text. It runs after objects and iframes were converted.
func normalize(body *html.Node) {
	for n := range elements(body) {
		normalizeElement(n, nil)
	}
}

// normalizeElement is normalize's step for one element. before, when not nil, is run first on
// every element under a <math> (in document order), as a pass before normalize would have.
func normalizeElement(n *html.Node, before func(*html.Node)) {
	if n.Parent == nil {
		return // inside something already removed
	}
	switch {
	case n.Namespace == "math" && n.Data == "math":
		if before != nil {
			for d := range elements(n) {
				before(d)
			}
		}
		replace(n, text(mathText(n)))
	case n.Namespace == "svg" && n.Data == "svg", n.Namespace == "" && dropped[n.Data]:
		replace(n, nil)
	}
}

// mathText linearises a MathML formula into plain text a reader can follow: x^2, (a)/(b),
// √(x). The MathML itself is dropped (bluemonday would strip it anyway, and Markdown has
// no math in GFM's core).
func mathText(n *html.Node) string {
	switch n.Type {
	case html.TextNode:
		return strings.TrimSpace(n.Data)
	case html.ElementNode:
	default:
		return ""
	}
	var kids []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			kids = append(kids, c)
		}
	}
	group := func(c *html.Node) string {
		t := mathText(c)
		if utf8.RuneCountInString(t) > 1 {
			return "(" + t + ")"
		}
		return t
	}
	switch {
	case n.Data == "annotation" || n.Data == "annotation-xml":
		return ""
	case n.Data == "mfrac" && len(kids) == 2:
		return group(kids[0]) + "/" + group(kids[1])
	case n.Data == "msup" && len(kids) == 2:
		return mathText(kids[0]) + "^" + group(kids[1])
	case n.Data == "msub" && len(kids) == 2:
		return mathText(kids[0]) + "_" + group(kids[1])
	case n.Data == "msubsup" && len(kids) == 3:
		return mathText(kids[0]) + "_" + group(kids[1]) + "^" + group(kids[2])
	case n.Data == "mroot" && len(kids) == 2:
		return group(kids[1]) + "√" + group(kids[0])
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(mathText(c))
	}
	if n.Data == "msqrt" {
		return "√(" + b.String() + ")"
	}
	return b.String()
}
