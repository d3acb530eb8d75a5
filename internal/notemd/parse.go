package notemd

import (
	"bytes"
	"cmp"
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
	// markers is false when no text or attribute of the page can hold html-to-markdown's
	// marker characters (stripMarkers): the source has neither of them, nor any numeric
	// character reference (no named one stands for either).
	markers bool
	// elements is the number of elements in the body, and special those of them that
	// rewriteForMarkdown's first walk acts on, in document order (see bodyWalk).
	elements int
	special  []*html.Node
}

// parsePage repairs and parses the output HTML. Invalid UTF-8 sequences become U+FFFD rather
// than failing the whole page (one bad byte should not lose a note).
func parsePage(src []byte) (*page, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	if !parsesAsIs(src) {
		src = expandSelfClosing(src)
	}
	doc, err := html.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	p := &page{markers: bytes.IndexByte(src, '\a') >= 0 || bytes.Contains(src, []byte("\uF002")) ||
		bytes.Contains(src, []byte("&#"))}
	var head *html.Node
	// Every <meta> is checked: here outside the body, in readingOrder's walk inside it.
	for n := doc.FirstChild; n != nil; {
		descend := true
		if n.Type == html.ElementNode && n.Namespace == "" {
			switch n.DataAtom {
			case atom.Head:
				if head == nil {
					head = n
				}
			case atom.Body:
				if p.body == nil {
					p.body, descend = n, false
				}
			case atom.Meta:
				if !utf8Charset(n) {
					return nil, ErrCharset
				}
			}
		}
		if descend && n.FirstChild != nil {
			n = n.FirstChild
			continue
		}
		for n.NextSibling == nil {
			if n = n.Parent; n == doc {
				break
			}
		}
		n = n.NextSibling
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
	var w bodyWalk
	if !w.readingOrder(p.body) {
		return nil, ErrCharset
	}
	p.elements, p.special = w.elements, w.special
	return p, nil
}

// resourceCount is at most how many resources the page refers to: its images and objects.
func (p *page) resourceCount() int {
	n := 0
	for _, e := range p.special {
		if e.Namespace == "" && (e.DataAtom == atom.Img || e.DataAtom == atom.Object) {
			n++
		}
	}
	return n
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

// parsesAsIs reports that expandSelfClosing(src) is src itself, from a scan that follows
// the tokenizer's rules for tags, quoted values and raw text (title, style, textarea, ...)
// without its cost (it is as long as a parse step): that is the case for most pages with a
// "/>", whose self-closing tags are void (<img/>, <br/>, <meta/>). It errs only towards false:
// it gives up on comments and other "<!" markup, on <script> and <plaintext>, on a tag left
// unfinished at the end and on any non-void tag ending in "/>".
func parsesAsIs(src []byte) bool {
	if !bytes.Contains(src, []byte("/>")) {
		return true // expandSelfClosing's own shortcut
	}
	n := len(src)
	for p := 0; ; {
		i := bytes.IndexByte(src[p:], '<')
		if i < 0 {
			return true
		}
		i += p
		if i+1 >= n {
			return true // a "<" at the end is text
		}
		switch c := src[i+1]; {
		case isASCIILetter(c):
			end, ok := scanTag(src, i+1)
			if !ok {
				return false
			}
			// The name ends at white space, "/" or ">" (a loop: bytes.IndexAny builds its
			// set at every call).
			k := i + 2
			for k < end && !isSpace(src[k]) && src[k] != '/' && src[k] != '>' {
				k++
			}
			name := src[i+1 : k]
			if src[end-2] == '/' && !isVoidFold(name) {
				return false // (the tokenizer may yet not call it self-closing: <p a=/>)
			}
			p = end
			switch raw := rawFold(name); raw {
			case "":
			case "script", "plaintext":
				return false
			default:
				p = skipRawText(src, p, raw)
			}
		case c == '/':
			if i+2 >= n {
				return true
			}
			switch c2 := src[i+2]; {
			case c2 == '>':
				p = i + 3 // "</>" is an empty comment
			case isASCIILetter(c2):
				end, ok := scanTag(src, i+2)
				if !ok {
					return false
				}
				p = end
			default: // a bogus comment up to the next ">"
				k := bytes.IndexByte(src[i+2:], '>')
				if k < 0 {
					return true
				}
				p = i + 2 + k + 1
			}
		case c == '?': // a bogus comment up to the next ">"
			k := bytes.IndexByte(src[i+1:], '>')
			if k < 0 {
				return true
			}
			p = i + 1 + k + 1
		case c == '!':
			return false
		default:
			p = i + 1 // text
		}
	}
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

// scanTag reads a start or end tag whose name starts at src[q], as html.Tokenizer's readTag
// does, and returns the offset just past its ">"; ok is false when the page ends inside it.
func scanTag(src []byte, q int) (end int, ok bool) {
	n := len(src)
	skip := func(j int) int {
		for j < n && isSpace(src[j]) {
			j++
		}
		return j
	}
	j := q + 1
	for j < n && !isSpace(src[j]) && src[j] != '/' && src[j] != '>' {
		j++
	}
	if j = skip(j); j >= n {
		return 0, false
	}
	for {
		if src[j] == '>' {
			return j + 1, true
		}
		// The attribute's key: a leading "=" belongs to it.
		start := j
		for {
			if j >= n {
				return 0, false
			}
			c := src[j]
			if isSpace(c) || c == '/' || c == '>' || c == '=' && j > start {
				break
			}
			j++
		}
		// Its value.
		if j = skip(j); j >= n {
			return 0, false
		}
		switch src[j] {
		case '/':
			j++
		case '=':
			if j = skip(j + 1); j >= n {
				return 0, false
			}
			switch q := src[j]; q {
			case '>':
			case '"', '\'':
				k := bytes.IndexByte(src[j+1:], q)
				if k < 0 {
					return 0, false
				}
				j += 1 + k + 1
			default:
				for j++; ; j++ {
					if j >= n {
						return 0, false
					}
					if isSpace(src[j]) {
						j++
						break
					}
					if src[j] == '>' {
						break
					}
				}
			}
		}
		if j = skip(j); j >= n {
			return 0, false
		}
	}
}

// rawFold is the tag name, lower-cased, when the tokenizer reads what follows that start tag
// as text up to its end tag; "" otherwise.
func rawFold(name []byte) string {
	if len(name) < len("xmp") || len(name) > len("plaintext") {
		return ""
	}
	switch name[0] | 0x20 { // (the first letters of the names below)
	case 'i', 'n', 'p', 's', 't', 'x':
	default:
		return ""
	}
	for _, s := range []string{"iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp"} {
		if len(name) == len(s) && bytes.EqualFold(name, []byte(s)) {
			return s
		}
	}
	return ""
}

// skipRawText returns the offset of the end tag that closes the raw text starting at p (as
// the tokenizer's readRawEndTag finds it), or len(src).
func skipRawText(src []byte, p int, tag string) int {
	n := len(src)
	for {
		i := bytes.Index(src[p:], []byte("</"))
		if i < 0 {
			return n
		}
		i += p
		p = i + 2
		t := i + 2
		k := 0
		for ; k < len(tag); k++ {
			if t+k >= n {
				return n
			}
			if c := src[t+k]; c != tag[k] && c != tag[k]-('a'-'A') {
				break
			}
		}
		if k < len(tag) {
			continue
		}
		if t+k >= n {
			return n
		}
		if c := src[t+k]; isSpace(c) || c == '/' || c == '>' {
			return i
		}
	}
}

// isVoidFold is isVoid for a tag name as written (the tokenizer lower-cases ASCII letters).
func isVoidFold(name []byte) bool {
	if len(name) == 0 || len(name) > len("keygen") {
		return false
	}
	var buf [6]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return isVoid(string(buf[:len(name)]))
}

// hasTagPrefix reports whether src has "<" followed by one of the names (ASCII
// case-insensitive), as a tag of that name (or a longer one) would start.
func hasTagPrefix(src []byte, names ...string) bool {
	for off := 0; ; {
		i := bytes.IndexByte(src[off:], '<')
		if i < 0 {
			return false
		}
		off += i + 1
		for _, n := range names {
			if len(src)-off >= len(n) && bytes.EqualFold(src[off:off+len(n)], []byte(n)) {
				return true
			}
		}
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

// bodyWalk is readingOrder's walk of the body, and what it notes on the way for the
// rewriting: how many elements there are (rewriteForMarkdown sizes its snapshots of the tree
// by it) and, in document order, the elements its first walk acts on (isSpecial).
type bodyWalk struct {
	elements int
	special  []*html.Node
	// Scratch, reused from one parent to the next (each is done with before the walk goes
	// down into the children).
	pos   []placed
	slots []*html.Node
	kids  []*html.Node
}

type placed struct {
	n         *html.Node
	top, left float64
	index     int // among the positioned children, in document order
}

// readingOrder puts absolutely positioned children (OneNote's outline divs) in reading order,
// top to bottom then left to right. Other children keep their places: positioned children
// are only permuted among the slots they already occupy. It walks every element under n,
// and reports whether every <meta> among them declares UTF-8 (or nothing).
//
// A parent's children are put in order before the walk goes down into them, so the elements
// are met (and noted) in the document order of the tree as it is left.
func (w *bodyWalk) readingOrder(n *html.Node) (utf8Meta bool) {
	utf8Meta = true
	w.pos = w.pos[:0]
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if style := attr(c, "style"); style != "" && mayHavePosition(style) {
				var v [3]string // position, top, left
				styleValues(style, positionProps, v[:])
				if strings.EqualFold(v[0], "absolute") {
					w.pos = append(w.pos, placed{c, length(v[1]), length(v[2]), len(w.pos)})
				}
			}
		}
	}
	if len(w.pos) > 1 {
		w.sortChildren(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			w.elements++
			if isSpecial(c) {
				w.special = append(w.special, c)
			}
			if c.DataAtom == atom.Meta && c.Namespace == "" && !utf8Charset(c) {
				utf8Meta = false
			}
			if !w.readingOrder(c) {
				utf8Meta = false
			}
		}
	}
	return utf8Meta
}

// sortChildren permutes n's positioned children (w.pos, in document order) among the slots
// they occupy, sorted by top, then left, then document order (a stable sort).
func (w *bodyWalk) sortChildren(n *html.Node) {
	w.slots = w.slots[:0]
	for _, p := range w.pos {
		w.slots = append(w.slots, p.n)
	}
	// (The index makes the order total, so the unstable sort gives the stable sort's order;
	// the lengths are never NaN.)
	slices.SortFunc(w.pos, func(a, b placed) int {
		if c := cmp.Compare(a.top, b.top); c != 0 {
			return c
		}
		if c := cmp.Compare(a.left, b.left); c != 0 {
			return c
		}
		return cmp.Compare(a.index, b.index)
	})
	// The children in their new order: slot k gets the k-th positioned child once sorted.
	w.kids = w.kids[:0]
	k := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if k < len(w.slots) && c == w.slots[k] {
			w.kids = append(w.kids, w.pos[k].n)
			k++
		} else {
			w.kids = append(w.kids, c)
		}
	}
	// Relinked in that order (as RemoveChild and InsertBefore would leave them, one by one).
	var prev *html.Node
	for _, c := range w.kids {
		c.PrevSibling = prev
		if prev == nil {
			n.FirstChild = c
		} else {
			prev.NextSibling = c
		}
		prev = c
	}
	prev.NextSibling = nil
	n.LastChild = prev
	clear(w.slots)
	clear(w.kids)
}

// mayHavePosition reports whether an inline style may declare "position": the property's
// name, in any case, holds the ASCII letters "ition" (no other character folds to any of
// them; "ſ" folds to "s", so "poſition" counts in strings.EqualFold).
func mayHavePosition(style string) bool {
	for i := 0; i+len("ition") <= len(style); i++ {
		if style[i]|0x20 == 'i' && style[i+1]|0x20 == 't' && style[i+2]|0x20 == 'i' &&
			style[i+3]|0x20 == 'o' && style[i+4]|0x20 == 'n' {
			return true
		}
	}
	return false
}

// isSpecial reports whether rewriteForMarkdown's first walk acts on n: an image, attachment,
// iframe or link (resources and mdLinks), or an element normalize drops or rewrites.
func isSpecial(n *html.Node) bool {
	switch n.Namespace {
	case "":
		switch n.DataAtom {
		case atom.Img, atom.Object, atom.Iframe, atom.A:
			return true
		}
		return dropped[n.Data]
	case "math":
		return n.Data == "math"
	case "svg":
		return n.Data == "svg"
	}
	return false
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

var positionProps = []string{"position", "top", "left"}

// styleValues sets vals[i] to styleValue(style, props[i]) for each of the (distinct)
// properties, in one pass over the style; vals is as long as props.
func styleValues(style string, props, vals []string) {
	for rest, more := style, true; more; {
		var decl string
		decl, rest, more = strings.Cut(rest, ";")
		k, v, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		// (strings.EqualFold, as styleValue: "ſ" folds to "s", so no test of the length first.)
		k = strings.TrimSpace(k)
		for i, p := range props {
			if strings.EqualFold(k, p) {
				vals[i] = strings.TrimSpace(v)
				break
			}
		}
	}
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
	// ASCII words separated by single spaces are their own result: strings.Fields and Join
	// would copy them (an image's alt text is usually that).
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= utf8.RuneSelf, c == '\t', c == '\n', c == '\v', c == '\f', c == '\r',
			c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' '):
			return strings.Join(strings.Fields(s), " ")
		}
	}
	return s
}

func element(tag string, attrs ...string) *html.Node {
	n := &html.Node{Type: html.ElementNode, Data: tag, DataAtom: atom.Lookup([]byte(tag))}
	if len(attrs) >= 2 {
		n.Attr = make([]html.Attribute, 0, len(attrs)/2) // (appending one by one grows it twice for two)
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attr = append(n.Attr, html.Attribute{Key: attrs[i], Val: attrs[i+1]})
	}
	return n
}

// renameElement makes n what element(tag, attrs...) would make, in n's place and with n's
// children: a rewriting that replaces an element by a new one around the same children can
// keep the node instead of making a new one. n must not be needed as it was (its attributes
// are overwritten, in the same array when it has room).
func renameElement(n *html.Node, tag string, attrs ...string) {
	n.Data, n.DataAtom, n.Namespace = tag, atom.Lookup([]byte(tag)), ""
	n.Attr = n.Attr[:0]
	if len(attrs) == 0 {
		n.Attr = nil // (as element leaves it)
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.Attr = append(n.Attr, html.Attribute{Key: attrs[i], Val: attrs[i+1]})
	}
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
// (descendants written out: the iterator's call per node was a third of a snapshot's cost.)
func appendElements(out []*html.Node, n *html.Node) []*html.Node {
	c := n.FirstChild
	for c != nil {
		if c.Type == html.ElementNode {
			out = append(out, c)
		}
		if c.FirstChild != nil {
			c = c.FirstChild
			continue
		}
		for c.NextSibling == nil {
			c = c.Parent
			if c == n || c == nil {
				return out
			}
		}
		c = c.NextSibling
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
