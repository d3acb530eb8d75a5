package notemd

import (
	"bytes"
	"errors"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// ErrCharset is returned for a page that declares a character set other than UTF-8.
// Graph always answers in UTF-8; anything else is not a page from Graph.
var ErrCharset = errors.New("notemd: page is not UTF-8")

// page is a parsed OneNote page: its title and its body with the positioned divs in reading
// order. Each call of Sanitize or Markdown parses its own copy, because both rewrite the tree.
type page struct {
	title string
	body  *html.Node
}

// parsePage repairs and parses the output HTML. Invalid UTF-8 sequences become U+FFFD rather
// than failing the whole page (one bad byte should not lose a note).
func parsePage(src []byte) (*page, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	src = expandSelfClosing(src)
	doc, err := html.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	p := &page{}
	var head *html.Node
	for n := range descendants(doc) {
		if n.Type != html.ElementNode || n.Namespace != "" {
			continue
		}
		switch n.DataAtom {
		case atom.Head:
			if head == nil {
				head = n
			}
		case atom.Body:
			if p.body == nil {
				p.body = n
			}
		case atom.Meta:
			if !utf8Charset(n) {
				return nil, ErrCharset
			}
		}
	}
	if head != nil {
		for n := range descendants(head) {
			if n.Type == html.ElementNode && n.DataAtom == atom.Title {
				p.title = collapseSpace(textOf(n))
				break
			}
		}
	}
	if p.body == nil { // html.Parse always makes one; keep the nil check for safety
		p.body = &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	}
	readingOrder(p.body)
	return p, nil
}

// utf8Charset reports whether a <meta> element declares UTF-8 (or nothing).
func utf8Charset(n *html.Node) bool {
	cs := attr(n, "charset")
	if cs == "" && strings.EqualFold(attr(n, "http-equiv"), "content-type") {
		ct := strings.ToLower(attr(n, "content"))
		if i := strings.Index(ct, "charset="); i >= 0 {
			cs = strings.Trim(strings.TrimSpace(ct[i+len("charset="):]), `"';`)
		}
	}
	cs = strings.ToLower(strings.TrimSpace(cs))
	return cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii"
}

// expandSelfClosing rewrites <object .../> and <iframe .../> (and any other non-void element
// written XML-style, as Graph does) into an open and a close tag. An HTML parser ignores the
// slash, so <object/> would otherwise swallow everything after it.
func expandSelfClosing(src []byte) []byte {
	if !bytes.Contains(src, []byte("/>")) {
		return src
	}
	// The page is copied only from the first element to rewrite on: most pages have none
	// (<img/> and <br/> are void), and copying a large page costs as much as a parse step.
	z := html.NewTokenizer(bytes.NewReader(src))
	var out *bytes.Buffer
	off := 0 // bytes of src the tokens so far cover
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if out != nil {
				return out.Bytes() // io.EOF: a bytes.Reader has no other error
			}
			if off != len(src) {
				// The tokens did not cover the page exactly (they always do, but the
				// rewritten page is made of them): copy them as the rewrite would.
				return expandAll(src)
			}
			return src
		}
		raw := z.Raw()
		off += len(raw)
		if tt != html.SelfClosingTagToken {
			if out != nil {
				out.Write(raw)
			}
			continue
		}
		// Written before TagName, which lower-cases the name inside raw.
		start := -1
		if out != nil {
			start = out.Len()
			out.Write(raw)
		}
		name, _ := z.TagName()
		if isVoid(string(name)) {
			continue
		}
		if out == nil {
			out = new(bytes.Buffer)
			out.Grow(len(src) + 256)
			out.Write(src[:off-len(raw)])
		} else {
			out.Truncate(start)
		}
		// Close the element explicitly instead of the "/>".
		out.Write(bytes.TrimRight(raw[:len(raw)-2], " \t\r\n\f"))
		out.WriteString("></")
		out.Write(name)
		out.WriteByte('>')
	}
}

// expandAll is expandSelfClosing writing every token, for a page whose tokens do not cover
// it exactly.
func expandAll(src []byte) []byte {
	z := html.NewTokenizer(bytes.NewReader(src))
	var out bytes.Buffer
	out.Grow(len(src) + 256)
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out.Bytes()
		}
		raw := z.Raw()
		if tt != html.SelfClosingTagToken {
			out.Write(raw)
			continue
		}
		start := len(raw)
		out.Write(raw)
		name, _ := z.TagName()
		if isVoid(string(name)) {
			continue
		}
		// Drop the "/>" just written and close the element explicitly.
		out.Truncate(out.Len() - start)
		out.Write(bytes.TrimRight(raw[:len(raw)-2], " \t\r\n\f"))
		out.WriteString("></")
		out.Write(name)
		out.WriteByte('>')
	}
}

func isVoid(name string) bool {
	switch name {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
		"param", "source", "track", "wbr":
		return true
	}
	return false
}

// readingOrder puts absolutely positioned children (OneNote's outline divs) in reading order,
// top to bottom then left to right. Other children keep their places: positioned children
// are only permuted among the slots they already occupy.
func readingOrder(n *html.Node) {
	type placed struct {
		n         *html.Node
		top, left float64
	}
	var pos []placed
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if style := attr(c, "style"); style != "" && strings.EqualFold(styleValue(style, "position"), "absolute") {
				pos = append(pos, placed{c, length(styleValue(style, "top")), length(styleValue(style, "left"))})
			}
		}
	}
	if len(pos) > 1 {
		// The slots the positioned children occupy, in document order, before sorting.
		slots := make([]*html.Node, len(pos))
		for i, p := range pos {
			slots[i] = p.n
		}
		slices.SortStableFunc(pos, func(a, b placed) int {
			if a.top != b.top {
				if a.top < b.top {
					return -1
				}
				return 1
			}
			if a.left < b.left {
				return -1
			}
			if a.left > b.left {
				return 1
			}
			return 0
		})
		// Each slot is marked by a placeholder, then the placeholders are swapped for the
		// sorted children: the other children never move.
		marks := make([]html.Node, len(slots))
		for i, s := range slots {
			n.InsertBefore(&marks[i], s)
			n.RemoveChild(s)
		}
		for i := range marks {
			n.InsertBefore(pos[i].n, &marks[i])
			n.RemoveChild(&marks[i])
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			readingOrder(c)
		}
	}
}

// length parses a CSS length ("120px", "9pt", "1.5in") into CSS pixels; 0 when unreadable.
func length(v string) float64 {
	v = strings.ToLower(strings.TrimSpace(v))
	scale := 1.0
	for _, u := range []struct {
		unit  string
		scale float64
	}{{"px", 1}, {"pt", 96.0 / 72}, {"in", 96}, {"cm", 96 / 2.54}, {"mm", 96 / 25.4}} {
		if strings.HasSuffix(v, u.unit) {
			v, scale = strings.TrimSpace(strings.TrimSuffix(v, u.unit)), u.scale
			break
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f { // NaN never sorts
		return 0
	}
	return f * scale
}

// styleValue returns the value of one property in an inline style attribute ("" if absent).
// The last declaration wins, as in CSS.
func styleValue(style, prop string) string {
	var val string
	for decl := range strings.SplitSeq(style, ";") {
		k, v, ok := strings.Cut(decl, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), prop) {
			val = strings.TrimSpace(v)
		}
	}
	return val
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return true
		}
	}
	return false
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func delAttr(n *html.Node, key string) {
	n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return a.Key == key })
}

// textOf is the text content of n, skipping MathML annotations (a TeX or content-markup
// copy of the formula that would otherwise be read twice).
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			return
		}
		if n.Type == html.ElementNode && (n.Data == "annotation" || n.Data == "annotation-xml") {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// blankText reports whether textOf(n) is empty or white space only (strings.TrimSpace of it
// is ""), without building the string: the rewriting asks it of every styled span and
// paragraph, and of whole tables.
func blankText(n *html.Node) bool {
	if n.Type == html.TextNode {
		return isBlank(n.Data)
	}
	if n.Type == html.ElementNode && (n.Data == "annotation" || n.Data == "annotation-xml") {
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if !blankText(c) {
			return false
		}
	}
	return true
}

// isBlank is strings.TrimSpace(s) == "" without the trimming. A text node is valid UTF-8 (the
// page was made so before parsing), so a concatenation is blank exactly when each part is.
func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			continue
		}
		return strings.TrimSpace(s[i:]) == ""
	}
	return true
}

func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func element(tag string, attrs ...string) *html.Node {
	n := &html.Node{Type: html.ElementNode, Data: tag, DataAtom: atom.Lookup([]byte(tag))}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attr = append(n.Attr, html.Attribute{Key: attrs[i], Val: attrs[i+1]})
	}
	return n
}

func text(s string) *html.Node { return &html.Node{Type: html.TextNode, Data: s} }

// replace puts r where n was (r may be nil: n is removed).
func replace(n, r *html.Node) {
	if n.Parent == nil {
		return
	}
	if r != nil {
		n.Parent.InsertBefore(r, n)
	}
	n.Parent.RemoveChild(n)
}

// unwrap replaces n by its children.
func unwrap(n *html.Node) {
	p := n.Parent
	if p == nil {
		return
	}
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		n.RemoveChild(c)
		p.InsertBefore(c, n)
		c = next
	}
	p.RemoveChild(n)
}

// wrapChildren moves n's children into w and makes w n's only child.
func wrapChildren(n, w *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		n.RemoveChild(c)
		w.AppendChild(c)
		c = next
	}
	n.AppendChild(w)
}

// elements yields the element descendants of n in document order, from a snapshot taken
// before the first one is yielded, so the tree may be rewritten during the loop. The snapshot
// lives in a pooled buffer: every pass over a large page would otherwise allocate (and make
// the garbage collector scan) a slice the size of the page.
func elements(n *html.Node) iter.Seq[*html.Node] {
	return func(yield func(*html.Node) bool) {
		bp := snapshots.Get().(*[]*html.Node)
		s := appendElements((*bp)[:0], n)
		defer func() {
			clear(s)
			*bp = s[:0]
			snapshots.Put(bp)
		}()
		for _, e := range s {
			if !yield(e) {
				return
			}
		}
	}
}

var snapshots = sync.Pool{New: func() any { return new([]*html.Node) }}

// appendElements appends the element descendants of n in document order.
func appendElements(out []*html.Node, n *html.Node) []*html.Node {
	for d := range descendants(n) {
		if d.Type == html.ElementNode {
			out = append(out, d)
		}
	}
	return out
}

// descendants is n.Descendants() without recursion: html.Node.Descendants nests one
// iterator per level, so each node it yields passes through every ancestor's closure.
// The same caveat holds: only the node just yielded may be changed (not moved or removed)
// before the loop goes on, unless the loop stops.
func descendants(n *html.Node) iter.Seq[*html.Node] {
	return func(yield func(*html.Node) bool) {
		c := n.FirstChild
		for c != nil {
			if !yield(c) {
				return
			}
			if c.FirstChild != nil {
				c = c.FirstChild
				continue
			}
			for c.NextSibling == nil {
				c = c.Parent
				if c == n || c == nil {
					return
				}
			}
			c = c.NextSibling
		}
	}
}

// inside reports whether n has an ancestor with one of the tag names.
func inside(n *html.Node, tags ...string) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && slices.Contains(tags, p.Data) {
			return true
		}
	}
	return false
}

// detach removes n from its parent and returns it.
func detach(n *html.Node) *html.Node {
	if n.Parent != nil {
		n.Parent.RemoveChild(n)
	}
	return n
}
