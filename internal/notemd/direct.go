package notemd

// The direct renderer: Markdown written straight from the rewritten tree, for the structures
// OneNote pages and the rewriting (md_rewrite.go) produce, with the output html-to-markdown
// would give, byte for byte. html-to-markdown spends most of a large page's time on its own
// machinery (a copy and sort of its handlers for every element, tag-type look-ups under a
// lock, a dozen passes over the tree); this does one check pass, the library's whitespace
// collapse and one rendering pass.
//
// Anything it is not certain to render exactly as the library does, it declines (ok false),
// and Markdown converts the page with the library instead (markdownViaLibrary). The library
// stays the reference: TestDirectMatchesLibrary and FuzzMarkdownDirect compare the two.
//
// What it mirrors, in the library's order: the base plugin's removal of comments and merge
// of adjacent text; the commonmark and strikethrough plugins' tree passes, which it only
// checks are no-ops on the page (declining otherwise), except MoveListItems, which it does;
// the whitespace collapse (the library's own collapse package); then the renderers of base,
// commonmark, strikethrough, table and ours (markdown.go), and the post-render steps.

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/JohannesKaufmann/html-to-markdown/v2/collapse"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// renderDirect converts doc (an <html> element holding the rewritten body) as
// tidy(mdConverter().ConvertNode(doc)) would; ok is false when it declines. It changes the
// tree either way, as the converter's passes would. sizeHint is the page's size in bytes:
// the Markdown buffer starts at a size that usually holds the page's Markdown.
func renderDirect(doc *html.Node, sizeHint int) (md string, ok bool) {
	removeCommentsMergeText(doc)
	c := checker{}
	c.walk(doc, ancestry{})
	if c.bad {
		return "", false
	}
	for _, s := range c.spaces {
		if s[0] != nil {
			s[0].Data += " "
		}
		if s[1] != nil {
			s[1].Data = " " + s[1].Data
		}
	}
	if c.moveItems {
		moveListItems(doc)
		// The strikethrough plugin's passes come after MoveListItems: check them again on
		// the tree it left.
		c = checker{strikeOnly: true}
		c.walk(doc, ancestry{})
		if c.bad {
			return "", false
		}
	}
	collapse.Collapse(doc, collapseFuncs)
	r := getRenderer()
	defer putRenderer(r)
	if cap(r.out) < sizeHint/2 {
		// Half the page's size holds the Markdown of the pages measured (a third of it on
		// benchPage, less on pages with more markup); growing a large buffer from small
		// would allocate it several times over.
		r.out = make([]byte, 0, sizeHint/2)
	}
	out := r.node(r.out[:0], doc, false)
	r.out = out
	if !r.ok {
		return "", false
	}
	// The post-render steps: trim, unescape, code-block newlines, then tidy.
	// (In place where a step only shortens the text, and unescaped into the renderer's second
	// buffer: each copy of a large page's Markdown is garbage to collect.)
	out = bytes.TrimSpace(out)
	out = trimConsecutiveNewlinesTo(out[:0], out)
	out = trimUnnecessaryHardLineBreaks(out)
	if bytes.IndexByte(out, placeholder) >= 0 {
		if cap(r.aux) < len(out) {
			r.aux = make([]byte, 0, len(out)) // unescaping never lengthens the text
		}
		r.aux = unEscapeTo(r.aux[:0], out)
		out = r.aux
	}
	return tidy(replaceCodeBlockNewlines(out)), true
}

// replaceCodeBlockNewlines is bytes.ReplaceAll(b, codeBlockNewline, "\n") done in b.
func replaceCodeBlockNewlines(b []byte) []byte {
	return replaceShorter(b, codeBlockNewline, []byte("\n"))
}

// removeCommentsMergeText removes comment nodes (the base plugin's TagTypeRemove for
// #comment; the other elements it removes never survive normalize, and the checker declines
// them), then merges adjacent text as domutils.MergeAdjacentTextNodes does, in one walk: text
// either side of a removed comment is adjacent once it is gone.
func removeCommentsMergeText(n *html.Node) {
	var prev *html.Node
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		switch {
		case c.Type == html.CommentNode:
			n.RemoveChild(c)
		case c.Type == html.TextNode && prev != nil && prev.Type == html.TextNode:
			prev.Data += c.Data
			n.RemoveChild(c)
		default:
			if c.FirstChild != nil {
				removeCommentsMergeText(c)
			}
			prev = c
		}
		c = next
	}
}

// moveListItems is domutils.MoveListItems: what sits in a list outside an item joins the
// item before it (or a new one).
func moveListItems(n *html.Node) {
	if n.Type == html.ElementNode && (n.Data == "ol" || n.Data == "ul") {
		var children []*html.Node
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			children = append(children, c)
		}
		var prevLi *html.Node
		for _, c := range children {
			switch {
			case c.Type == html.ElementNode && c.Data == "li":
				prevLi = c
			case c.Type == html.TextNode && strings.TrimSpace(c.Data) == "":
			case prevLi != nil:
				n.RemoveChild(c)
				prevLi.AppendChild(c)
			default:
				li := &html.Node{Type: html.ElementNode, DataAtom: atom.Li, Data: "li"}
				n.InsertBefore(li, c)
				n.RemoveChild(c)
				li.AppendChild(c)
				prevLi = li
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		moveListItems(c)
	}
}

// ancestry counts the ancestors of a node that the library's passes look at.
type ancestry struct {
	span, bold, italic, link, strike, table int
	leafOrInline                            int // LeafBlockAlternatives' flags
}

// checker finds what the direct renderer does not render, and what the commonmark and
// strikethrough plugins' tree passes would change (their result is then left to them).
type checker struct {
	bad        bool
	moveItems  bool // a list has children outside its items (MoveListItems will move them)
	strikeOnly bool
	spaces     [][2]*html.Node // AddSpace's text nodes: a space after [0], before [1]
}

// Element kinds the direct renderer handles.
const (
	kindOther = iota
	kindBlock
	kindInline
	kindBold
	kindItalic
	kindStrike
	kindCode
	kindPre
	kindLink
	kindHeading
	kindList
	kindTable
	kindRowGroup
	kindRow
	kindCell
	kindBreak
	kindRule
	kindQuote
	kindImage
	kindFile
)

func kindOf(n *html.Node) int {
	if n.Namespace != "" {
		return kindOther
	}
	switch n.Data {
	case "html", "body", "span", "u", "font", "sup", "sub", "small", "big", "mark", "cite",
		"abbr", "ins", "time", "dfn", "bdi", "bdo", "label", "q", "acronym", "data":
		return kindInline
	case "div", "p", "li", "section", "article", "aside", "address", "header", "footer",
		"main", "nav", "figure", "figcaption", "dl", "dt", "dd", "details", "hgroup":
		return kindBlock
	case "strong", "b":
		return kindBold
	case "em", "i":
		return kindItalic
	case "del", "s", "strike":
		return kindStrike
	case "code":
		return kindCode
	case "pre":
		return kindPre
	case "a":
		return kindLink
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return kindHeading
	case "ul", "ol":
		return kindList
	case "table":
		return kindTable
	case "tbody":
		return kindRowGroup
	case "tr":
		return kindRow
	case "td":
		return kindCell
	case "br":
		return kindBreak
	case "hr":
		return kindRule
	case "blockquote":
		return kindQuote
	case tagImage:
		return kindImage
	case tagFile:
		return kindFile
	}
	return kindOther
}

func (c *checker) walk(n *html.Node, a ancestry) {
	for ch := n.FirstChild; ch != nil && !c.bad; ch = ch.NextSibling {
		switch ch.Type {
		case html.TextNode:
			continue
		case html.ElementNode:
		default:
			c.bad = true
			return
		}
		if c.strikeOnly {
			c.checkStrike(ch, &a)
		} else {
			c.check(ch, &a)
		}
		if c.bad {
			return
		}
	}
}

func (c *checker) checkStrike(n *html.Node, a *ancestry) {
	inner := *a
	if kindOf(n) == kindStrike {
		if a.strike > 0 || wouldMerge(n, isStrikeName) {
			c.bad = true
			return
		}
		inner.strike++
	}
	c.walk(n, inner)
}

func (c *checker) check(n *html.Node, a *ancestry) {
	kind := kindOf(n)
	name := n.Data
	inner := *a
	bad := false
	// RenameFakeSpans: a span holding a block element becomes a div.
	if blockName(name) && a.span > 0 {
		bad = true
	}
	// LeafBlockAlternatives: a block inside a heading, a code block or inline content is
	// renamed.
	container, leaf, inline := mdStructure(name)
	if (container || leaf) && a.leafOrInline > 0 {
		bad = true
	}
	if leaf || inline {
		inner.leafOrInline++
	}
	// The table plugin gives up on a table inside a link or emphasis, or holding these.
	if a.table > 0 {
		switch kind {
		case kindHeading, kindTable, kindRule, kindList, kindQuote:
			bad = true
		}
	}
	switch kind {
	case kindOther:
		bad = true
	case kindInline:
		if name == "span" {
			inner.span++
		}
	case kindBold, kindItalic:
		// RemoveRedundant, MergeAdjacent, AddSpace and SwapTags (bold or italic around a
		// lone link) would change these.
		if kind == kindBold && a.bold > 0 || kind == kindItalic && a.italic > 0 ||
			wouldMerge(n, isBoldItalicName) || onlyChild(n, "a") {
			bad = true
		}
		// AddSpace puts a space between inline code at the edge of the emphasis and the
		// text next to it; done after the checks (the passes before it see the text as it was).
		if prev, next := addSpaceTargets(n); prev != nil || next != nil {
			c.spaces = append(c.spaces, [2]*html.Node{prev, next})
		}
		if kind == kindBold {
			inner.bold++
		} else {
			inner.italic++
		}
	case kindStrike:
		if a.strike > 0 || wouldMerge(n, isStrikeName) {
			bad = true
		}
		inner.strike++
	case kindCode:
		// RemoveEmptyCode, SwapTags (code around a lone pre), MergeAdjacent.
		if !hasNonEmptyText(n) || onlyChild(n, "pre") || wouldMerge(n, isInlineCodeName) {
			bad = true
		}
	case kindLink:
		// RemoveRedundant (a link in a link) and SwapTags (a link around a lone heading).
		if a.link > 0 || onlyChildHeading(n) {
			bad = true
		}
		inner.link++
	case kindList:
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if !(ch.Type == html.ElementNode && ch.Data == "li") &&
				!(ch.Type == html.TextNode && strings.TrimSpace(ch.Data) == "") {
				c.moveItems = true
			}
		}
	case kindTable:
		if a.link+a.bold+a.italic+a.strike > 0 {
			bad = true
		}
		if v, _ := libAttr(n, "role"); v == "presentation" {
			bad = true
		}
		inner.table++
	case kindRowGroup, kindRow:
		if a.table == 0 {
			bad = true
		}
	case kindCell:
		_, rs := libAttr(n, "rowspan")
		_, cs := libAttr(n, "colspan")
		if a.table == 0 || rs || cs {
			bad = true
		}
	}
	if bad {
		c.bad = true
		return
	}
	c.walk(n, inner)
}

// libAttr is dom.GetAttribute: the first attribute with that key, whatever its namespace.
func libAttr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func isBoldItalicName(n *html.Node) bool {
	switch nodeName(n) {
	case "strong", "b", "em", "i":
		return true
	}
	return false
}

func isStrikeName(n *html.Node) bool {
	switch nodeName(n) {
	case "del", "s", "strike":
		return true
	}
	return false
}

func isInlineCodeName(n *html.Node) bool {
	switch nodeName(n) {
	case "code", "var", "samp", "kbd", "tt":
		return true
	}
	return false
}

// nodeName is dom.NodeName.
func nodeName(n *html.Node) string {
	switch n.Type {
	case html.ErrorNode:
		return "#error"
	case html.TextNode:
		return "#text"
	case html.DocumentNode:
		return "#document"
	case html.CommentNode:
		return "#comment"
	case html.DoctypeNode, html.ElementNode:
		return n.Data
	}
	return ""
}

// nextNeighbor and prevNeighbor are dom.GetNextNeighborNode and GetPrevNeighborNode (the
// first child, else the sibling, else an ancestor's sibling); skipChild gives the
// ...ExcludingOwnChild variants.
func nextNeighbor(n *html.Node, skipChild bool) *html.Node {
	if !skipChild && n.FirstChild != nil {
		return n.FirstChild
	}
	if n.NextSibling != nil {
		return n.NextSibling
	}
	for n = n.Parent; n != nil; n = n.Parent {
		if n.NextSibling != nil {
			return n.NextSibling
		}
	}
	return nil
}

func prevNeighbor(n *html.Node, skipChild bool) *html.Node {
	if !skipChild && n.FirstChild != nil {
		return n.FirstChild
	}
	if n.PrevSibling != nil {
		return n.PrevSibling
	}
	for n = n.Parent; n != nil; n = n.Parent {
		if n.PrevSibling != nil {
			return n.PrevSibling
		}
	}
	return nil
}

// wouldMerge reports whether domutils.MergeAdjacent would join a node after n into n.
func wouldMerge(n *html.Node, match func(*html.Node) bool) bool {
	for node := n.NextSibling; node != nil; {
		switch {
		case nodeName(node) == "span":
			node = nextNeighbor(node, false)
		case match(node):
			return true
		default:
			return false
		}
	}
	return false
}

// addSpaceTargets are the text nodes domutils.AddSpace gives a space for n (bold or italic
// starting or ending with inline code): prev gets one at its end, next at its start.
func addSpaceTargets(n *html.Node) (prev, next *html.Node) {
	first := n.FirstChild
	for first != nil && nodeName(first) == "span" {
		first = nextNeighbor(first, false)
	}
	if first != nil && isInlineCodeName(first) {
		prev = textNeighbor(n, prevNeighbor)
	}
	last := n.LastChild
	for last != nil && nodeName(last) == "span" {
		last = prevNeighbor(last, false)
	}
	if last != nil && isInlineCodeName(last) {
		next = textNeighbor(n, nextNeighbor)
	}
	return prev, next
}

// textNeighbor is domutils' getPrevTextNode or getNextTextNode.
func textNeighbor(start *html.Node, step func(*html.Node, bool) *html.Node) *html.Node {
	for node := step(start, true); node != nil; {
		if node.Type == html.TextNode {
			return node
		}
		if nodeName(node) != "span" {
			return nil
		}
		node = step(node, false)
	}
	return nil
}

// onlyChild reports whether n's children, white-space text aside, are one element named
// name (domutils.SwapTags would swap it with n).
func onlyChild(n *html.Node, name string) bool {
	only := soleChild(n)
	return only != nil && nodeName(only) == name
}

func onlyChildHeading(n *html.Node) bool {
	only := soleChild(n)
	if only == nil {
		return false
	}
	switch nodeName(only) {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return true
	}
	return false
}

func soleChild(n *html.Node) *html.Node {
	var only *html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode && strings.TrimSpace(c.Data) == "" {
			continue
		}
		if only != nil {
			return nil
		}
		only = c
	}
	return only
}

// hasNonEmptyText is domutils' hasTextChildNodes.
func hasNonEmptyText(n *html.Node) bool {
	if n.Type == html.TextNode && n.Data != "" {
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if hasNonEmptyText(c) {
			return true
		}
	}
	return false
}

// directRenderer writes the Markdown of the checked tree. ok turns false when it meets
// something the checks let through but it does not render with certainty.
//
// Its buffers are kept between conversions (renderers): out and aux hold a whole page's
// Markdown, free the scratch buffers, held and items the lists' and tables' parts (each a stack:
// a list nested in an item pushes its own above its parent's and pops them before the
// parent goes on).
type directRenderer struct {
	ok       bool
	out, aux []byte
	free     [][]byte // scratch buffers
	held     [][]byte // scratch buffers in use by the lists and tables being rendered
	items    []listItem
	cells    [][]byte
	rowEnds  []int
	aligns   []string
}

type listItem struct {
	content []byte
	task    string
}

// renderers keeps directRenderers (and their buffers) between conversions: each holds a
// conversion's state, so it is taken by one conversion at a time and reset when taken.
var renderers = sync.Pool{New: func() any { return new(directRenderer) }}

func getRenderer() *directRenderer {
	r := renderers.Get().(*directRenderer)
	r.ok = true
	return r
}

// maxKeptBuffer is the largest buffer a renderer keeps for the next conversion: a page far
// larger than usual should not hold its memory until the pool is emptied.
const maxKeptBuffer = 4 << 20

func putRenderer(r *directRenderer) {
	if cap(r.out) > maxKeptBuffer {
		r.out = nil
	}
	if cap(r.aux) > maxKeptBuffer {
		r.aux = nil
	}
	// Nothing of this conversion stays reachable from the pool (the scratch buffers are
	// overwritten before they are read again).
	r.release(0)
	r.free = slices.DeleteFunc(r.free, func(b []byte) bool { return cap(b) > maxKeptBuffer })
	clear(r.items[:cap(r.items)])
	r.items = r.items[:0]
	clear(r.cells[:cap(r.cells)])
	r.cells = r.cells[:0]
	r.rowEnds = r.rowEnds[:0]
	clear(r.aligns[:cap(r.aligns)])
	r.aligns = r.aligns[:0]
	renderers.Put(r)
}

// hold keeps a scratch buffer in use until release(base) is called, base being the length
// of r.held when the list or table began.
func (r *directRenderer) hold(b []byte) { r.held = append(r.held, b) }

func (r *directRenderer) release(base int) {
	for _, b := range r.held[base:] {
		r.put(b)
	}
	clear(r.held[base:])
	r.held = r.held[:base]
}

func (r *directRenderer) get() []byte {
	if n := len(r.free); n > 0 {
		b := r.free[n-1]
		r.free = r.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 256)
}

func (r *directRenderer) put(b []byte) { r.free = append(r.free, b) }

func (r *directRenderer) children(b []byte, n *html.Node, inLink bool) []byte {
	for c := n.FirstChild; c != nil && r.ok; c = c.NextSibling {
		b = r.node(b, c, inLink)
	}
	return b
}

// node is the converter's handleRenderNode for one node.
func (r *directRenderer) node(b []byte, n *html.Node, inLink bool) []byte {
	if n.Type == html.TextNode {
		return appendText(b, n.Data, inLink)
	}
	if n.Type != html.ElementNode {
		r.ok = false
		return b
	}
	switch kindOf(n) {
	case kindInline, kindRowGroup:
		return r.children(b, n, inLink)
	case kindBlock:
		b = append(b, "\n\n"...)
		b = r.children(b, n, inLink)
		return append(b, "\n\n"...)
	case kindBold:
		return r.delimited(b, n, inLink, "**")
	case kindItalic:
		return r.delimited(b, n, inLink, "*")
	case kindStrike:
		return r.delimited(b, n, inLink, "~~")
	case kindBreak:
		return append(b, "  \n"...)
	case kindRule:
		return append(b, "\n\n* * *\n\n"...)
	case kindCode:
		return r.inlineCode(b, n)
	case kindPre:
		return r.blockCode(b, n)
	case kindHeading:
		return r.heading(b, n, inLink)
	case kindLink:
		return r.link(b, n)
	case kindQuote:
		return r.quote(b, n, inLink)
	case kindList:
		return r.list(b, n, inLink)
	case kindTable:
		return r.table(b, n, inLink)
	case kindCell:
		return r.cell(b, n, inLink)
	case kindImage:
		return r.image(b, n)
	case kindFile:
		return r.file(b, n)
	}
	r.ok = false // a row outside a table, or an element the checks did not expect
	return b
}

// render renders n's children into a scratch buffer (put it back when done).
func (r *directRenderer) render(n *html.Node, inLink bool) []byte {
	return r.children(r.get(), n, inLink)
}

// delimited is renderBoldItalic and renderStrikethrough.
func (r *directRenderer) delimited(b []byte, n *html.Node, inLink bool, delim string) []byte {
	content := r.render(n, inLink)
	b = appendDelimited(b, content, delim)
	r.put(content)
	return b
}

// codeWithoutTags is renderCode's getCodeWithoutTags.
func codeWithoutTags(b []byte, n *html.Node, info *string) []byte {
	if n.Type == html.ElementNode && (n.Data == "code" || n.Data == "pre") && *info == "" {
		*info = codeLanguage(n)
	}
	if n.Type == html.ElementNode {
		switch n.Data {
		case "style", "script", "textarea":
			return b
		case "br", "div":
			b = append(b, '\n')
		}
	}
	if n.Type == html.TextNode {
		return append(b, n.Data...)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b = codeWithoutTags(b, c, info)
	}
	return b
}

// codeLanguage is renderCode's getCodeLanguage.
func codeLanguage(n *html.Node) string {
	class, _ := libAttr(n, "class")
	for part := range strings.SplitSeq(class, " ") {
		if !strings.Contains(part, "language-") && !strings.Contains(part, "lang-") {
			continue
		}
		part = strings.Replace(part, "language-", "", 1)
		return strings.Replace(part, "lang-", "", 1)
	}
	return ""
}

// inlineCode is renderInlineCode.
func (r *directRenderer) inlineCode(b []byte, n *html.Node) []byte {
	var info string
	code := codeWithoutTags(r.get(), n, &info)
	defer r.put(code)
	if len(bytes.TrimSpace(code)) == 0 {
		b = append(b, '`')
		b = append(b, code...)
		return append(b, '`')
	}
	c := collapseInlineCodeContent(code)
	fence := longestRun(c, '`') + 1
	b = appendRepeat(b, '`', fence)
	if c[0] == '`' {
		b = append(b, ' ')
	}
	b = append(b, c...)
	if c[len(c)-1] == '`' {
		b = append(b, ' ')
	}
	return appendRepeat(b, '`', fence)
}

// blockCode is renderBlockCode.
func (r *directRenderer) blockCode(b []byte, n *html.Node) []byte {
	var info string
	code := codeWithoutTags(r.get(), n, &info)
	defer r.put(code)
	code = bytes.TrimSuffix(code, []byte("\n"))
	fence := max(3, longestRun(code, '`')+1)
	b = append(b, "\n\n"...)
	b = appendRepeat(b, '`', fence)
	b = append(b, info...)
	b = append(b, '\n')
	for {
		line, rest, more := bytes.Cut(code, []byte("\n"))
		b = append(b, line...)
		if !more {
			break
		}
		b = append(b, codeBlockNewline...)
		code = rest
	}
	b = append(b, '\n')
	b = appendRepeat(b, '`', fence)
	return append(b, "\n\n"...)
}

// heading is renderHeading (ATX style).
func (r *directRenderer) heading(b []byte, n *html.Node, inLink bool) []byte {
	content := r.render(n, inLink)
	defer r.put(content)
	if len(bytes.TrimSpace(content)) == 0 {
		return b
	}
	// \n and \r become spaces, runs of spaces one space (the regexp "  +").
	s := r.get()
	defer func() { r.put(s) }() // (s grows below)
	for _, c := range content {
		if c == '\n' || c == '\r' {
			c = ' '
		}
		if c == ' ' && len(s) > 0 && s[len(s)-1] == ' ' {
			continue
		}
		s = append(s, c)
	}
	s = bytes.TrimSpace(s)
	// escapePoundSignAtEnd
	if s[len(s)-1] == '#' && !(len(s) >= 3 && s[len(s)-3] == '\\') {
		if len(s) < 2 {
			r.ok = false // the library would index out of range
			return b
		}
		s[len(s)-2] = '\\'
	}
	b = append(b, "\n\n"...)
	b = append(b, "######"[:n.Data[1]-'0']...)
	b = append(b, ' ')
	b = append(b, s...)
	return append(b, "\n\n"...)
}

// link is renderLink (inlined style).
func (r *directRenderer) link(b []byte, n *html.Node) []byte {
	href, _ := libAttr(n, "href")
	href = assembleURL(strings.TrimSpace(href))
	title, _ := libAttr(n, "title")
	title = strings.ReplaceAll(title, "\n", " ")
	content := r.render(n, true)
	defer r.put(content)
	if href == "" {
		title = ""
	}
	left, trimmed, right := surroundingSpaces(content)
	trimmed = trimConsecutiveNewlinesTo(r.get(), trimmed)
	defer r.put(trimmed)
	trimmed = escapeMultiLine(trimmed)
	b = append(b, left...)
	b = append(b, '[')
	b = append(b, trimmed...)
	b = append(b, "]("...)
	b = append(b, href...)
	if title != "" {
		b = append(b, ' ')
		b = append(b, surroundByQuotes([]byte(title))...)
	}
	b = append(b, ')')
	return append(b, right...)
}

// quote is renderBlockquote.
func (r *directRenderer) quote(b []byte, n *html.Node, inLink bool) []byte {
	content := r.render(n, inLink)
	defer r.put(content)
	c := bytes.TrimSpace(content)
	if c == nil {
		return b
	}
	c = trimConsecutiveNewlinesTo(r.get(), c)
	defer r.put(c)
	c = trimUnnecessaryHardLineBreaks(c)
	b = append(b, "\n\n> "...)
	for _, ch := range c {
		b = append(b, ch)
		if ch == '\n' {
			b = append(b, "> "...)
		}
	}
	return append(b, "\n\n"...)
}

// list is renderList (markdown.go).
func (r *directRenderer) list(b []byte, n *html.Node, inLink bool) []byte {
	heldBase, itemBase := len(r.held), len(r.items)
	defer func() {
		r.release(heldBase)
		clear(r.items[itemBase:])
		r.items = r.items[:itemBase]
	}()
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		buf := r.node(r.get(), c, inLink)
		content := bytes.TrimSpace(buf)
		task := ""
		if c.Type == html.ElementNode {
			task = attr(c, attrTask)
		}
		if len(content) == 0 && task == "" {
			r.put(buf)
			continue
		}
		r.hold(buf)
		r.items = append(r.items, listItem{content, task})
	}
	items := r.items[itemBase:]
	if len(items) == 0 {
		return b
	}
	start := 1
	if n.Data == "ol" {
		if v, err := strconv.Atoi(attr(n, "start")); err == nil && v >= 0 && v < 1e9 {
			start = v
		}
	}
	b = append(b, "\n\n"...)
	for i, it := range items {
		prefixLen := 2
		if n.Data == "ol" {
			num := len(b)
			b = strconv.AppendInt(b, int64(start+i), 10)
			b = append(b, ". "...)
			prefixLen = len(b) - num
		} else {
			b = append(b, "- "...)
		}
		switch it.task {
		case "done":
			b = append(b, "[x] "...)
		case "open":
			b = append(b, "[ ] "...)
		}
		// unEscape(tightenItem(content)), in scratch buffers. (content is nil or not empty:
		// bytes.TrimSpace gives nil for blank text, and tightenItem nil for nil.)
		content := it.content
		if len(content) > 0 && hasBlankLine(content) {
			content = appendTightened(r.get(), content)
			r.hold(content)
		}
		if bytes.IndexByte(content, placeholder) >= 0 {
			content = unEscapeTo(r.get(), content)
			r.hold(content)
		}
		for j := 0; content != nil; j++ {
			var line []byte
			line, content, _ = bytes.Cut(content, []byte("\n"))
			if j > 0 {
				b = append(b, '\n')
				if len(line) > 0 {
					b = appendSpaces(b, prefixLen)
				}
			}
			b = appendIndentedCodeNewlines(b, line, prefixLen)
		}
		if i < len(items)-1 {
			b = append(b, '\n')
		}
	}
	return append(b, "\n\n"...)
}

// appendIndentedCodeNewlines appends line with each code-block newline marker followed by
// indent spaces.
func appendIndentedCodeNewlines(b, line []byte, indent int) []byte {
	for {
		i := bytes.Index(line, codeBlockNewline)
		if i < 0 {
			return append(b, line...)
		}
		b = append(b, line[:i+len(codeBlockNewline)]...)
		b = appendSpaces(b, indent)
		line = line[i+len(codeBlockNewline):]
	}
}

// cell is renderCell (markdown.go): the cell's lines, trimmed, without blank ones.
func (r *directRenderer) cell(b []byte, n *html.Node, inLink bool) []byte {
	content := r.render(n, inLink)
	defer r.put(content)
	first := true
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) != 0 {
			if !first {
				b = append(b, '\n')
			}
			first = false
			b = append(b, line...)
		}
	}
	return b
}

// table is the table plugin's renderTable with our options (newlines kept as <br />, the
// first row promoted to the header, minimal padding), for tables without th, thead, caption
// or spans (the checker declined those).
func (r *directRenderer) table(b []byte, n *html.Node, inLink bool) []byte {
	// The rows' cells go on r.cells, the end of each row on r.rowEnds.
	heldBase, cellBase, rowBase, alignBase := len(r.held), len(r.cells), len(r.rowEnds), len(r.aligns)
	defer func() {
		r.release(heldBase)
		clear(r.cells[cellBase:])
		r.cells = r.cells[:cellBase]
		r.rowEnds = r.rowEnds[:rowBase]
		clear(r.aligns[alignBase:])
		r.aligns = r.aligns[:alignBase]
	}()
	for tr := range descendants(n) {
		if tr.Type != html.ElementNode || tr.Data != "tr" {
			continue
		}
		for td := range descendants(tr) {
			if td.Type != html.ElementNode || (td.Data != "td" && td.Data != "th") {
				continue
			}
			if len(r.rowEnds) == rowBase {
				a, _ := libAttr(td, "align")
				r.aligns = append(r.aligns, a)
			}
			buf := r.node(r.get(), td, inLink)
			r.hold(buf)
			content := bytes.TrimSpace(buf)
			// (bytes.ReplaceAll copies even when there is nothing to replace.)
			if bytes.Contains(content, []byte("\a|")) {
				content = appendReplaced(r.get(), content, []byte("\a|"), []byte(`\|`))
				r.hold(content)
			}
			if bytes.IndexByte(content, placeholder) >= 0 {
				content = unEscapeTo(r.get(), content)
				r.hold(content)
			}
			if bytes.IndexByte(content, '\n') >= 0 {
				content = appendReplaced(r.get(), content, []byte("\n"), []byte("<br />"))
				r.hold(content)
			}
			r.cells = append(r.cells, content)
		}
		r.rowEnds = append(r.rowEnds, len(r.cells))
	}
	rowEnds, aligns := r.rowEnds[rowBase:], r.aligns[alignBase:]
	if len(rowEnds) == 0 {
		r.ok = false // the plugin would give the table up to the fallback renderer
		return b
	}
	row := func(i int) [][]byte {
		from := cellBase
		if i > 0 {
			from = rowEnds[i-1]
		}
		return r.cells[from:rowEnds[i]]
	}
	cols := 0
	for i := range rowEnds {
		cols = max(cols, len(row(i)))
	}
	writeRow := func(cells [][]byte) {
		for i := range cols {
			if i == 0 {
				b = append(b, '|')
			}
			b = append(b, ' ')
			if i < len(cells) {
				b = append(b, cells[i]...)
			}
			b = append(b, " |"...)
		}
	}
	b = append(b, "\n\n"...)
	writeRow(row(0))
	b = append(b, '\n')
	for i := range cols {
		align := ""
		if i < len(aligns) {
			align = aligns[i]
		}
		if i == 0 {
			b = append(b, '|')
		}
		if align == "left" || align == "center" {
			b = append(b, ':')
		} else {
			b = append(b, '-')
		}
		b = append(b, '-')
		if align == "right" || align == "center" {
			b = append(b, ':')
		} else {
			b = append(b, '-')
		}
		b = append(b, '|')
	}
	b = append(b, '\n')
	for i := 1; i < len(rowEnds); i++ {
		writeRow(row(i))
		b = append(b, '\n')
	}
	return append(b, "\n\n"...)
}

// image is renderImage (markdown.go).
func (r *directRenderer) image(b []byte, n *html.Node) []byte {
	if prev := n.PrevSibling; prev != nil && prev.Data == tagImage {
		b = append(b, ' ')
	}
	b = append(b, "!["...)
	b = append(b, escapeAlt(attr(n, "alt"))...)
	b = append(b, "]("...)
	b = append(b, attr(n, "dest")...)
	return append(b, ')')
}

// file is renderFile (markdown.go).
func (r *directRenderer) file(b []byte, n *html.Node) []byte {
	content := r.render(n, true)
	defer r.put(content)
	b = append(b, '[')
	b = append(b, bytes.TrimSpace(content)...)
	b = append(b, "]("...)
	b = append(b, attr(n, "dest")...)
	return append(b, ')')
}
