package notemd

import (
	"bytes"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// rewriteForMarkdown turns OneNote's HTML into the plain elements html-to-markdown knows:
// styled spans into <strong>/<em>/<del>/<code>, check boxes into task items, Consolas
// paragraphs into code blocks, resources into the renderers' own elements. Order matters:
// resources before normalize (which drops <object>), tables before tags (a check box in a
// cell is text), tags before code (a tagged paragraph is never a code block).
//
// Passes that can share one walk of the tree do (a walk of a large page's tree, larger than
// the caches, costs as much as a pass's own work): resources with normalize, over the
// elements parsePage's walk noted for them; the list merge with the tags' labels, then code
// with formatting and block images, over one snapshot of the elements; and the links and the
// to-do paragraphs are handed over by an earlier walk instead of found by one of their own.
// Each shared walk does, for one element, what the passes would have done to it one after the
// other; the comments at each say why no pass's step on an element depends on another's on a
// later one. rewriteSeparately (rewrite_test.go) keeps the separate passes, each over a
// snapshot of its own, and TestSharedWalks and FuzzSharedWalks hold the two to the same tree
// and link calls.
func rewriteForMarkdown(p *page, link func(Resource) string) {
	body := p.body
	// One buffer for the snapshot of the tree (and flattenTables' list before it), sized once:
	// a pooled one is mostly lost to the garbage collector during a large page's conversion.
	bp := snapshots.Get().(*[]*html.Node)
	if want := p.elements + p.elements/2; cap(*bp) < want {
		// Room for the elements the rewriting adds (a third more on benchPage): appending
		// to a small buffer would allocate it several times over on a large page.
		*bp = make([]*html.Node, 0, want)
	}
	defer func() {
		clear(*bp)
		*bp = (*bp)[:0]
		snapshots.Put(bp)
	}()
	// Resources, then normalize. A resource's replacement depends on its own attributes only,
	// and normalize's steps (dropping an element, or a <math> becoming its text) touch only
	// that element's subtree. The one order that matters: a <math> reads its text after the
	// resources inside it were replaced (an image's alt text), so it replaces them first.
	var links []*html.Node // the page's links in document order, for mdLinks
	resource := func(n *html.Node) {
		if n.Parent == nil || n.Namespace != "" {
			return
		}
		switch n.DataAtom {
		case atom.Img:
			mdImage(n, link)
		case atom.Object:
			mdAttachment(n, link)
		case atom.Iframe:
			a := videoLink(n)
			replace(n, a)
			if a != nil {
				links = append(links, a)
			}
		}
	}
	// (The elements it acts on were noted by parsePage's walk: the others would pass through
	// the loop untouched.)
	for _, n := range p.special {
		if n.Namespace == "" && (n.DataAtom == atom.Img || n.DataAtom == atom.Object || n.DataAtom == atom.Iframe) {
			resource(n) // replaced: normalize would not have seen it
			continue
		}
		if n.DataAtom == atom.A && n.Namespace == "" {
			links = append(links, n)
		}
		normalizeElement(n, resource)
	}
	if p.markers {
		stripMarkers(body)
	}
	mdLinks(slices.Values(links))
	addTitle(p)
	taskLists(slices.Values(flattenTables(body, *bp)))
	// The list merge and the labels share a walk: a merge moves whole items (a label's place
	// in its item and the item's ancestors stay), and a label is inserted as the first child of
	// the tagged element and is never blank, so it can only stop a merge that, coming after
	// it in document order, would not have happened anyway (the list would be its element's
	// first child, with nothing before it to merge into).
	*bp = appendElements((*bp)[:0], body)
	elems := *bp
	next := elems[:0] // what the walk below looks at, kept in elems as this walk passes it
	for _, n := range elems {
		mergeList(n)
		tagLabelMD(n)
		if n.DataAtom == atom.P || n.Data == tagImage || n.Data == tagFile || hasAttr(n, "style") {
			next = append(next, n)
		}
	}
	// Code, formatting, block images, over the same snapshot: the walk above made no element
	// and moved none in document order (a merge moves a list's items to the end of the list
	// right before it, past white space only, and a label is text), and the lists it removed,
	// left empty and detached, are passed over below as a new snapshot would not have had them.
	// Of it, only paragraphs, styled elements and images or attachments: the three passes do
	// nothing to any other element (and the walk above has just read each one's attributes).
	// The element's style is read once for the two passes that look at it.
	for _, n := range next {
		st := styleOf(n)
		mdCodeElement(n, st)
		mdFormattingElement(n, st)
		blockImage(n)
	}
}

func mdImage(n *html.Node, link func(Resource) string) {
	r := imageRef(n)
	dest := ""
	if d := resolve(r, link); d != "" {
		dest = encodeDest(d)
	} else if r.external != "" {
		dest = encodeURL(r.external) // not ours to download: linked where it is
	}
	if dest != "" && n.FirstChild == nil && attr(n, "data-tag") == "" {
		// The <img> becomes the image element in place (its attributes read).
		renameElement(n, tagImage, "alt", r.res.Name, "dest", dest)
		return
	}
	var out *html.Node
	switch {
	case dest != "":
		out = element(tagImage, "alt", r.res.Name, "dest", dest)
	case r.res.Name != "":
		out = text(r.res.Name)
	}
	if tag := attr(n, "data-tag"); tag != "" && out != nil {
		span := element("span", "data-tag", tag)
		span.AppendChild(out)
		out = span
	}
	replace(n, out)
}

func mdAttachment(n *html.Node, link func(Resource) string) {
	r := attachmentRef(n)
	d := resolve(r, link)
	if d == "" {
		replace(n, nil)
		return
	}
	a := element(tagFile, "dest", encodeDest(d))
	a.AppendChild(text("📎 " + r.res.Name))
	replace(n, a)
}

// stripMarkers removes from the page's text the two characters html-to-markdown uses as
// internal markers (escaping and code-block newlines): in text they would be misread.
func stripMarkers(body *html.Node) {
	for n := range descendants(body) {
		if n.Type == html.TextNode && strings.ContainsAny(n.Data, "\a\uF002") {
			n.Data = strings.NewReplacer("\a", "", "\uF002", "").Replace(n.Data)
		}
	}
}

// mdLinks keeps links to http(s) and mailto only; any other link (javascript:, data:,
// onenote:, file:) becomes its text. A link with no text shows its address.
//
// It is given the page's links in document order: the page's own <a> elements and the video
// links made for iframes (nothing in between adds links or moves them).
func mdLinks(links iter.Seq[*html.Node]) {
	for n := range links {
		if n.DataAtom != atom.A || n.Namespace != "" {
			continue
		}
		href, ok := safeHref(attr(n, "href"))
		if !ok {
			unwrap(n)
			continue
		}
		n.Attr = []html.Attribute{{Key: "href", Val: href}}
		if blankText(n) && !hasDescendant(n, tagImage) {
			n.AppendChild(text(href))
		}
	}
}

func safeHref(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if _, plain := plainWebPath(raw); plain {
		return raw, true // (what parsing and writing it back would give: see plainWebPath)
	}
	return safeHrefParsed(raw)
}

// safeHrefParsed is safeHref for any trimmed URL, by parsing it (TestResourceIDPlain holds
// safeHref's shortcut to it).
func safeHrefParsed(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	switch {
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
	case u.Scheme == "mailto" && u.Opaque != "":
	default:
		return "", false
	}
	return u.String(), true
}

func hasDescendant(n *html.Node, tag string) bool {
	for d := range descendants(n) {
		if d.Type == html.ElementNode && d.Data == tag {
			return true
		}
	}
	return false
}

func isHeading(n *html.Node) bool {
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return n.Namespace == ""
	}
	return false
}

// addTitle puts the title first as "# Title". When the page's first heading says the same
// (OneNote users often repeat it), that heading is dropped rather than shown twice.
func addTitle(p *page) {
	if p.title == "" {
		return
	}
	h := element("h1")
	h.AppendChild(text(p.title))
	for n := range descendants(p.body) {
		if n.Type == html.ElementNode && isHeading(n) {
			if strings.EqualFold(collapseSpace(textOf(n)), p.title) {
				if tag := attr(n, "data-tag"); tag != "" {
					setAttr(h, "data-tag", tag)
				}
				replace(n, nil)
			}
			break
		}
	}
	p.body.InsertBefore(h, p.body.FirstChild)
}

// flattenTables makes table cells fit GFM, where a cell is one line: nested tables become
// lines of "a | b", lists become "• item" lines, headings bold lines, rules disappear.
// Innermost first, so an inner table or list is already lines when its container is seen.
//
// It returns the body's elements with a data-tag attribute, in document order outside table
// cells (which is where taskLists looks): flattening moves elements only inside cells. buf is
// room it may use for the elements it flattens (the snapshot buffer, free at this point).
//
// One walk of the tree finds the empty tables, the elements of a kind flattened and the
// tagged elements; the empty tables are dropped after it, as nothing it looks at depends on
// whether a table before it was dropped (it reads an element's own subtree only, and meets a
// table before anything inside it). flattenTablesSnapshot (rewrite_test.go) is the version
// that drops them as it goes, over a snapshot.
func flattenTables(body *html.Node, buf []*html.Node) (tagged []*html.Node) {
	cells := false   // only what is inside a cell is flattened
	kinds := buf[:0] // the elements of a kind flattened in a cell
	var empty []*html.Node
	for n := range descendants(body) {
		if n.Type != html.ElementNode {
			continue
		}
		if flattened(n) {
			kinds = append(kinds, n)
		}
		if n.DataAtom == atom.Table && blankText(n) &&
			!hasDescendant(n, tagImage) && !hasDescendant(n, tagFile) {
			empty = append(empty, n) // an empty table would be an empty header row
		}
		cells = cells || n.Data == "td" || n.Data == "th" // as inside() tests them
		if hasAttr(n, "data-tag") {
			tagged = append(tagged, n)
		}
	}
	for _, t := range empty {
		replace(t, nil)
	}
	defer clear(kinds) // (buf is pooled: it keeps no node of this page)
	if !cells {
		return tagged
	}
	for i := len(kinds) - 1; i >= 0; i-- {
		n := kinds[i]
		if n.Parent == nil || n.Namespace != "" || !inside(n, "td", "th") {
			continue
		}
		switch {
		case n.DataAtom == atom.Table:
			flattenTable(n)
		case n.DataAtom == atom.Ul || n.DataAtom == atom.Ol:
			flattenList(n)
		case isHeading(n):
			n.Data, n.DataAtom = "p", atom.P
			wrapChildren(n, element("strong"))
		case n.DataAtom == atom.Hr:
			replace(n, nil)
		case n.DataAtom == atom.Blockquote, n.DataAtom == atom.Pre:
			unwrap(n)
		}
	}
	return tagged
}

// flattened reports whether flattenTables rewrites an element of n's kind in a cell.
func flattened(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Table, atom.Ul, atom.Ol, atom.Hr, atom.Blockquote, atom.Pre:
		return true
	}
	return isHeading(n)
}

func flattenTable(t *html.Node) {
	var rows []*html.Node
	for d := range descendants(t) {
		if d.Type == html.ElementNode && (d.DataAtom == atom.Tr || d.DataAtom == atom.Caption) {
			rows = append(rows, d)
		}
	}
	for _, tr := range rows {
		line := element("p")
		if tr.DataAtom == atom.Caption {
			appendInline(line, tr)
		} else {
			first := true
			for c := tr.FirstChild; c != nil; c = c.NextSibling {
				if c.DataAtom != atom.Td && c.DataAtom != atom.Th {
					continue
				}
				if !first {
					line.AppendChild(text(" | "))
				}
				first = false
				appendInline(line, c)
			}
		}
		t.Parent.InsertBefore(line, t)
	}
	replace(t, nil)
}

// appendInline moves src's content into dst, its paragraphs separated by <br>.
func appendInline(dst, src *html.Node) {
	for c := src.FirstChild; c != nil; {
		next := c.NextSibling
		src.RemoveChild(c)
		if c.Type == html.ElementNode && (c.DataAtom == atom.P || c.DataAtom == atom.Div) {
			if dst.LastChild != nil {
				dst.AppendChild(element("br"))
			}
			appendInline(dst, c)
		} else {
			dst.AppendChild(c)
		}
		c = next
	}
}

var bullets = []string{"• ", "◦ ", "▪ "}

func flattenList(list *html.Node) {
	depth := 0
	for p := list.Parent; p != nil; p = p.Parent {
		if p.DataAtom == atom.Ul || p.DataAtom == atom.Ol {
			depth++
		}
	}
	num := 1
	for li := list.FirstChild; li != nil; li = li.NextSibling {
		if li.DataAtom != atom.Li {
			continue
		}
		prefix := bullets[depth%len(bullets)]
		if list.DataAtom == atom.Ol {
			prefix = strings.Repeat("  ", depth) + strconv.Itoa(num) + ". "
			num++
		}
		line := element("p")
		line.AppendChild(text(prefix))
		var after []*html.Node
		for c := li.FirstChild; c != nil; {
			next := c.NextSibling
			li.RemoveChild(c)
			block := c.Type == html.ElementNode && (c.DataAtom == atom.P || c.DataAtom == atom.Div)
			switch {
			case block && len(after) == 0 && strings.TrimSpace(textOf(line)) == strings.TrimSpace(prefix):
				appendInline(line, c) // <li><p>text</p></li>: the text goes on the bullet's line
			case block || len(after) > 0:
				after = append(after, c)
			default:
				line.AppendChild(c)
			}
			c = next
		}
		list.Parent.InsertBefore(line, list)
		for _, b := range after {
			list.Parent.InsertBefore(b, list)
		}
	}
	replace(list, nil)
}

// OneNote's note tags (taskLists, then mergeList and tagLabelMD). Check boxes become GFM task
// items: a run of to-do paragraphs becomes one tight task list, and a check box on a list
// item's first span marks that item, so nested check boxes keep their nesting
// (obsidian-importer #375). In a table cell or a heading, where Markdown has no task syntax,
// the box is a ☐/☑ character. Other tags become their emoji and label before the text.

// taskLists turns each run of to-do paragraphs into one list of task items. It is given the
// page's elements, or those with a data-tag, in document order.
func taskLists(elems iter.Seq[*html.Node]) {
	for n := range elems {
		if n.Parent == nil || n.DataAtom != atom.P || !hasAttr(n, "data-tag") || inside(n, "td", "th", "li") {
			continue
		}
		if ts, ok := parseTags(attr(n, "data-tag")); !ok || !ts.check {
			continue
		}
		ul := element("ul")
		n.Parent.InsertBefore(ul, n)
		for cur := n; cur != nil; {
			ts, ok := parseTags(attr(cur, "data-tag"))
			if cur.DataAtom != atom.P || !ok || !ts.check {
				break
			}
			next := cur.NextSibling
			for next != nil && next.Type == html.TextNode && strings.TrimSpace(next.Data) == "" {
				next = next.NextSibling
			}
			attrs := [4]string{attrTask, taskState(ts)} // and the paragraph's style, if any
			k := 2
			if st := attr(cur, "style"); st != "" {
				attrs[2], attrs[3], k = "style", st, 4
			}
			li := element("li", attrs[:k]...)
			if ts.prefix != "" {
				li.AppendChild(text(ts.prefix))
			}
			// The paragraph becomes a span in the item, which keeps its content together.
			renameElement(detach(cur), "span")
			li.AppendChild(cur)
			ul.AppendChild(li)
			cur = next
		}
	}
}

// tagLabelMD shows an element's note tags: its item's task state, or a ☐/☑ character and the
// tags' emoji and labels before its content.
func tagLabelMD(n *html.Node) {
	v := attr(n, "data-tag")
	if v == "" || n.Parent == nil {
		return
	}
	delAttr(n, "data-tag")
	ts, ok := parseTags(v)
	if !ok {
		return
	}
	prefix := ts.prefix
	if ts.check {
		if li := taskItem(n); li != nil && !inside(n, "td", "th") {
			setAttr(li, attrTask, taskState(ts))
		} else {
			prefix = ts.box() + prefix
		}
	}
	if prefix != "" {
		n.InsertBefore(text(prefix), n.FirstChild)
	}
}

// mergeList joins a bulleted list to the one right before it (the to-do paragraphs just
// grouped, say): in Markdown they would be one loose list with a blank line inside.
func mergeList(n *html.Node) {
	if n.DataAtom != atom.Ul || n.Parent == nil {
		return
	}
	prev := n.PrevSibling
	for prev != nil && prev.Type == html.TextNode && strings.TrimSpace(prev.Data) == "" {
		prev = prev.PrevSibling
	}
	if prev == nil || prev.DataAtom != atom.Ul {
		return
	}
	moveChildren(n, prev)
	replace(n, nil)
}

func taskState(ts tagSet) string {
	if ts.done {
		return "done"
	}
	return "open"
}

// taskItem is the list item a check box belongs to: the <li> itself, or the <li> whose
// content starts with the tagged element.
func taskItem(n *html.Node) *html.Node {
	if n.DataAtom == atom.Li {
		return n
	}
	li := n.Parent
	if li == nil || li.DataAtom != atom.Li {
		return nil
	}
	for c := li.FirstChild; c != nil; c = c.NextSibling {
		if c == n {
			return li
		}
		if c.Type != html.TextNode || strings.TrimSpace(c.Data) != "" {
			return nil
		}
	}
	return nil
}

// inlineStyle is what the rewriting reads of an element's style attribute: each property's
// value as styleValue gives it (the last declaration wins), from one pass over the attribute.
type inlineStyle struct {
	fontFamily, fontWeight, fontStyle, textDecoration, textDecorationLine string
}

func styleOf(n *html.Node) inlineStyle { return parseInlineStyle(attr(n, "style")) }

var inlineStyleProps = []string{"font-family", "font-weight", "font-style", "text-decoration", "text-decoration-line"}

func parseInlineStyle(style string) inlineStyle {
	if style == "" {
		return inlineStyle{}
	}
	var v [5]string
	styleValues(style, inlineStyleProps, v[:])
	return inlineStyle{fontFamily: v[0], fontWeight: v[1], fontStyle: v[2], textDecoration: v[3], textDecorationLine: v[4]}
}

// monospace reports whether an element's own style sets a code font (OneNote's way to write
// code is text in Consolas).
func monospace(n *html.Node) bool { return styleOf(n).monospace() }

func (st inlineStyle) monospace() bool {
	ff := strings.ToLower(st.fontFamily)
	if ff == "" {
		return false
	}
	for _, f := range []string{"consolas", "courier", "monospace", "lucida console", "menlo", "monaco", "cascadia"} {
		if strings.Contains(ff, f) {
			return true
		}
	}
	return false
}

// mdCodeElement turns runs of Consolas paragraphs into one fenced code block (blank paragraphs
// between them included) and Consolas spans into inline code.
//
// Run in one walk with mdFormattingElement and blockImage, element by element: a code run only
// looks at the paragraph and its later siblings, which the formatting of earlier elements
// (wrapping an element or its children in place) does not change; formatting an element only
// looks at it, its ancestors and its text, which code on its descendants keeps (a code block
// holds the run's non-blank text); and neither moves an image out of, or into, an outline.
//
// st is n's style (styleOf).
func mdCodeElement(n *html.Node, st inlineStyle) {
	if n.DataAtom != atom.P && !st.monospace() {
		return // (the checks below would say so, at the cost of a walk up the tree)
	}
	if n.Parent == nil || n.Namespace != "" || inside(n, "pre", "code") {
		return
	}
	if n.DataAtom == atom.P && !inside(n, "td", "th") && codeParagraph(n) {
		var lines []byte // the code paragraphs' text, one or more lines each, joined by newlines
		first := true
		newLine := func() {
			if !first {
				lines = append(lines, '\n')
			}
			first = false
		}
		var run []*html.Node
		// Whether the blank paragraphs being passed lead to more code: the same for the
		// whole run of them, so it is looked up once per run (once per blank paragraph,
		// a long run of them would be quadratic).
		blanksLead := -1 // unknown
		for cur := n; cur != nil; cur = cur.NextSibling {
			switch {
			case cur.Type == html.TextNode && strings.TrimSpace(cur.Data) == "":
				continue
			case cur == n || cur.DataAtom == atom.P && codeParagraph(cur): // (n is one)
				newLine()
				lines = appendCodeText(lines, cur)
				blanksLead = -1
			case cur.DataAtom == atom.P && blankParagraph(cur) && leadsToCode(cur, &blanksLead):
				newLine()
			default:
				cur = nil
			}
			if cur == nil {
				break
			}
			run = append(run, cur)
		}
		pre, code := element("pre"), element("code")
		code.AppendChild(text(string(lines)))
		pre.AppendChild(code)
		n.Parent.InsertBefore(pre, n)
		for _, r := range run {
			replace(r, nil)
		}
		return
	}
	if !st.monospace() || blankText(n) {
		return
	}
	switch n.DataAtom {
	case atom.Span, atom.Font:
		n.Data, n.DataAtom = "code", atom.Code
	case atom.P, atom.Li, atom.Td, atom.Th, atom.Div:
		if !inside(n, "td", "th") && n.DataAtom != atom.Td && n.DataAtom != atom.Th && n.DataAtom != atom.Li {
			return // a code paragraph with something else in it (an image): leave it
		}
		wrapChildren(n, element("code"))
	}
}

// leadsToCode is nextCode(n), remembered in *known (-1 unknown, 0 no, 1 yes) for the run of
// blank paragraphs n belongs to.
func leadsToCode(n *html.Node, known *int) bool {
	if *known < 0 {
		*known = 0
		if nextCode(n) {
			*known = 1
		}
	}
	return *known == 1
}

func nextCode(n *html.Node) bool {
	for cur := n.NextSibling; cur != nil; cur = cur.NextSibling {
		switch {
		case cur.Type == html.TextNode && strings.TrimSpace(cur.Data) == "":
		case cur.DataAtom == atom.P && blankParagraph(cur):
		default:
			return cur.DataAtom == atom.P && codeParagraph(cur)
		}
	}
	return false
}

// codeParagraph: all of the paragraph's text is in a code font, and it holds only text.
func codeParagraph(p *html.Node) bool {
	// (U+00A0 is white space to strings.TrimSpace and to blankText alike.)
	if hasAttr(p, "data-tag") || blankText(p) {
		return false
	}
	var ok func(n *html.Node, mono bool) bool
	ok = func(n *html.Node, mono bool) bool {
		switch n.Type {
		case html.TextNode:
			return mono || strings.TrimSpace(n.Data) == ""
		case html.ElementNode:
			switch n.DataAtom {
			case atom.Span, atom.Font, atom.B, atom.I, atom.U, atom.Strong, atom.Em, atom.Br, atom.P, atom.Code:
			default:
				return false
			}
			mono = mono || monospace(n) || n.DataAtom == atom.Code
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if !ok(c, mono) {
				return false
			}
		}
		return true
	}
	return ok(p, false)
}

func blankParagraph(p *html.Node) bool {
	for d := range descendants(p) {
		switch {
		case d.Type == html.TextNode && strings.TrimSpace(strings.ReplaceAll(d.Data, "\u00a0", " ")) != "":
			return false
		case d.Type == html.ElementNode && d.DataAtom != atom.Br && d.DataAtom != atom.Span:
			return false
		}
	}
	return true
}

// appendCodeText appends a code paragraph's text to b, with <br> as newlines and non-breaking
// spaces (how OneNote keeps indentation) as spaces, and no line ending in spaces or tabs.
func appendCodeText(b []byte, p *html.Node) []byte {
	line := len(b) // where the line being written starts
	newLine := func() {
		b = append(b[:line+len(bytes.TrimRight(b[line:], " \t"))], '\n')
		line = len(b)
	}
	for d := range descendants(p) {
		switch {
		case d.Type == html.TextNode:
			s := d.Data
			for i := 0; i < len(s); i++ {
				switch {
				case s[i] == '\n':
					newLine()
				case s[i] == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0: // U+00A0
					b = append(b, ' ')
					i++
				default:
					b = append(b, s[i])
				}
			}
		case d.DataAtom == atom.Br:
			newLine()
		}
	}
	return b[:line+len(bytes.TrimRight(b[line:], " \t"))]
}

// mdFormattingElement turns OneNote's inline styles (it writes <span style="font-weight:bold">, not
// <b>) into <strong>, <em> and <del>. Headings are bold already. st is n's style (styleOf).
func mdFormattingElement(n *html.Node, st inlineStyle) {
	if st == (inlineStyle{}) || n.Parent == nil || n.Namespace != "" {
		return // (no style, or none of these properties: no tags below)
	}
	var tags []string
	if w := strings.ToLower(st.fontWeight); (w == "bold" || w == "bolder" || w >= "600" && w <= "999" && len(w) == 3) &&
		!isHeading(n) && !inside(n, "h1", "h2", "h3", "h4", "h5", "h6") && !headerCell(n) {
		tags = append(tags, "strong")
	}
	if s := strings.ToLower(st.fontStyle); s == "italic" || s == "oblique" {
		tags = append(tags, "em")
	}
	if strings.Contains(strings.ToLower(st.textDecoration+st.textDecorationLine), "line-through") {
		tags = append(tags, "del")
	}
	if len(tags) == 0 || blankText(n) {
		return
	}
	if n.DataAtom == atom.Span || n.DataAtom == atom.Font {
		// The span itself becomes the outermost tag, in its place, as a new element put there
		// with the span's children would be (and without making one per styled span).
		renameElement(n, tags[0])
		if len(tags) > 1 {
			top, inner := nested(tags[1:])
			moveChildren(n, inner)
			n.AppendChild(top)
		}
		return
	}
	top, inner := nested(tags)
	switch n.DataAtom {
	case atom.Code, atom.A:
		n.Parent.InsertBefore(top, n)
		inner.AppendChild(detach(n))
	default:
		moveChildren(n, inner)
		n.AppendChild(top)
	}
}

// nested makes one element per tag, each inside the one before: the outermost and the innermost.
func nested(tags []string) (top, inner *html.Node) {
	top = element(tags[0])
	inner = top
	for _, t := range tags[1:] {
		e := element(t)
		inner.AppendChild(e)
		inner = e
	}
	return top, inner
}

// moveChildren moves from's children, in order, to the end of to's.
func moveChildren(from, to *html.Node) {
	for c := from.FirstChild; c != nil; {
		next := c.NextSibling
		to.AppendChild(detach(c))
		c = next
	}
}

// headerCell reports whether n is in a table's header row: a <th>, or a cell of the first row
// (which becomes the header, see mdConverter). A header is bold already.
func headerCell(n *html.Node) bool {
	for p := n; p != nil; p = p.Parent {
		if p.DataAtom == atom.Th {
			return true
		}
		if p.DataAtom != atom.Tr {
			continue
		}
		for t := p.Parent; t != nil; t = t.Parent {
			if t.DataAtom == atom.Table {
				for d := range descendants(t) {
					if d.DataAtom == atom.Tr {
						return d == p
					}
				}
			}
		}
		return false
	}
	return false
}

// blockImage gives an image or attachment that sits directly in an outline (not in a
// paragraph) a paragraph of its own, so two of them do not run together on one line.
func blockImage(n *html.Node) {
	if (n.Data == tagImage || n.Data == tagFile) && n.Parent != nil &&
		(n.Parent.DataAtom == atom.Div || n.Parent.DataAtom == atom.Body) {
		p := element("p")
		n.Parent.InsertBefore(p, n)
		p.AppendChild(detach(n))
	}
}
