package notemd

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/marker"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"golang.org/x/net/html"
)

// Elements and attributes the rewriting (md_rewrite.go) leaves for the renderers below.
const (
	tagImage = "notemd-image" // alt, dest: ![alt](dest)
	tagFile  = "notemd-file"  // dest: [children](dest)
	attrTask = "data-notemd-task"
)

// mdConverter is built once: the converter keeps per-conversion state in its context, and its
// renderers here read only the tree, so one converter serves concurrent calls.
//
// The converter copies and sorts its render handlers by priority for every element it
// renders. Ours are therefore one handler (renderOwn, dispatching on the tag name) and are
// registered before the plugins: the list is then already in order (ours early, the
// plugins' standard), which is the order the sort gave when each tag had its own handler
// registered after the plugins.
var mdConverter = sync.OnceValue(func() *converter.Converter {
	conv := converter.NewConverter()
	for _, name := range []string{tagImage, tagFile} {
		conv.Register.TagType(name, converter.TagTypeInline, converter.PriorityEarly)
	}
	for _, name := range []string{"ul", "ol", "td", "th"} {
		conv.Register.TagType(name, converter.TagTypeBlock, converter.PriorityEarly)
	}
	conv.Register.Renderer(renderOwn, converter.PriorityEarly)
	for _, p := range mdConverterPlugins() {
		conv.Register.Plugin(p)
	}
	return conv
})

// mdConverterPlugins are the plugins of mdConverter, with our options.
func mdConverterPlugins() []converter.Plugin {
	return []converter.Plugin{
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(
			commonmark.WithListEndComment(false), // no "<!--THE END-->" between lists
		),
		strikethrough.NewStrikethroughPlugin(),
		table.NewTablePlugin(
			// A cell with several lines keeps them as <br />, instead of the table being
			// given up (the plugin's default).
			table.WithNewlineBehavior(table.NewlineBehaviorPreserve),
			// OneNote tables have no <th>. Their first row is almost always the column
			// names, and an empty header row renders as a blank bar above the table on
			// GitHub and in Obsidian; promoting the first row loses nothing.
			table.WithHeaderPromotion(true),
			table.WithCellPaddingBehavior(table.CellPaddingBehaviorMinimal),
		),
	}
}

// renderOwn renders the elements this package handles itself and leaves the others to the
// plugins.
func renderOwn(ctx converter.Context, w converter.Writer, n *html.Node) converter.RenderStatus {
	if n.Type != html.ElementNode {
		return converter.RenderTryNext
	}
	switch n.Data {
	case tagImage:
		return renderImage(ctx, w, n)
	case tagFile:
		return renderFile(ctx, w, n)
	case "ul", "ol":
		return renderList(ctx, w, n)
	case "td", "th":
		return renderCell(ctx, w, n)
	}
	return converter.RenderTryNext
}

// markdownViaLibrary converts the page with html-to-markdown: the reference, and what
// Markdown falls back to for a page the direct renderer (direct.go) declines.
func markdownViaLibrary(page []byte, link func(Resource) string) (string, error) {
	p, err := parsePage(page)
	if err != nil {
		return "", err
	}
	rewriteForMarkdown(p, link)
	out, err := mdConverter().ConvertNode(pageDoc(p))
	if err != nil {
		return "", err
	}
	return tidy(out), nil
}

// pageDoc puts the rewritten body alone in an <html> element, the document both renderers
// convert.
func pageDoc(p *page) *html.Node {
	if p.body.Parent != nil {
		p.body.Parent.RemoveChild(p.body)
	}
	doc := element("html")
	doc.AppendChild(p.body)
	return doc
}

// memoLink remembers link's answers, so that a page converted twice (the direct renderer
// declined it) asks link once per resource, as it did before. hint is about how many
// resources the page has (its images and attachments are among parsePage's special elements).
func memoLink(link func(Resource) string, hint int) func(Resource) string {
	if link == nil {
		return nil
	}
	seen := make(map[Resource]string, hint)
	return func(r Resource) string {
		if d, ok := seen[r]; ok {
			return d
		}
		d := link(r)
		seen[r] = d
		return d
	}
}

// renderImage writes ![alt](dest). The alt text is escaped so that neither a bracket nor a
// "|" (in a table cell) ends it early.
func renderImage(ctx converter.Context, w converter.Writer, n *html.Node) converter.RenderStatus {
	if prev := n.PrevSibling; prev != nil && prev.Data == tagImage {
		w.WriteString(" ") // two images side by side (in a table cell, say) stay apart
	}
	w.WriteString("![")
	w.WriteString(escapeAlt(attr(n, "alt")))
	w.WriteString("](")
	w.WriteString(attr(n, "dest"))
	w.WriteString(")")
	return converter.RenderSuccess
}

var altEscaper = strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `|`, `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "\n", " ", "\r", " ")

func escapeAlt(s string) string { return altEscaper.Replace(collapseSpace(s)) }

// renderFile writes an attachment link, [📎 name](dest), its text escaped like any text.
func renderFile(ctx converter.Context, w converter.Writer, n *html.Node) converter.RenderStatus {
	var buf bytes.Buffer
	ctx.RenderChildNodes(ctx.WithValue("is_inside_link", true), &buf, n)
	w.WriteString("[")
	w.Write(bytes.TrimSpace(buf.Bytes()))
	w.WriteString("](")
	w.WriteString(attr(n, "dest"))
	w.WriteString(")")
	return converter.RenderSuccess
}

// renderList writes a list the way the commonmark plugin does, with two changes: a task item
// (a OneNote check box) gets "[ ] " or "[x] ", and no blank line separates an item's text
// from its nested list, so the list stays tight (obsidian-importer #262, #363).
func renderList(ctx converter.Context, w converter.Writer, n *html.Node) converter.RenderStatus {
	type item struct {
		content []byte
		task    string
	}
	var items []item
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		var buf bytes.Buffer
		ctx.RenderNodes(ctx, &buf, c)
		content := bytes.TrimSpace(buf.Bytes())
		task := ""
		if c.Type == html.ElementNode {
			task = attr(c, attrTask)
		}
		if len(content) == 0 && task == "" {
			continue
		}
		items = append(items, item{content, task})
	}
	if len(items) == 0 {
		return converter.RenderSuccess
	}
	start := 1
	if n.Data == "ol" {
		if v, err := strconv.Atoi(attr(n, "start")); err == nil && v >= 0 && v < 1e9 {
			start = v
		}
	}
	w.WriteString("\n\n")
	for i, it := range items {
		prefix := "- "
		if n.Data == "ol" {
			prefix = strconv.Itoa(start+i) + ". "
		}
		indent := strings.Repeat(" ", len(prefix))
		switch it.task {
		case "done":
			prefix += "[x] "
		case "open":
			prefix += "[ ] "
		}
		content := ctx.UnEscapeContent(tightenItem(it.content))
		if bytes.Contains(content, marker.BytesMarkerCodeBlockNewline) {
			content = bytes.ReplaceAll(content, marker.BytesMarkerCodeBlockNewline,
				append(slices.Clone(marker.BytesMarkerCodeBlockNewline), indent...))
		}
		w.WriteString(prefix)
		for j, line := 0, []byte(nil); content != nil; j++ {
			line, content, _ = bytes.Cut(content, []byte("\n"))
			if j > 0 {
				w.WriteString("\n")
				if len(line) > 0 {
					w.WriteString(indent)
				}
			}
			w.Write(line)
		}
		if i < len(items)-1 {
			w.WriteString("\n")
		}
	}
	w.WriteString("\n\n")
	return converter.RenderSuccess
}

// tightenItem removes the blank lines inside one list item's Markdown where they would make the
// list loose: before a nested list or a code fence they go; between two paragraphs of the
// item they become a hard line break; elsewhere (after a nested list, before a table) one
// blank line stays, as Markdown needs it there.
func tightenItem(content []byte) []byte {
	if !hasBlankLine(content) {
		return content // nothing to tighten (and no copy)
	}
	return appendTightened(nil, content)
}

// appendTightened appends tightenItem(content) to dst, whether content has blank lines or not.
// (Written as the lines of content joined by newlines, the last line written being dst[last:].)
func appendTightened(dst, content []byte) []byte {
	last := -1 // where the last line written starts in dst; -1 before the first line
	write := func(line []byte) {
		if last >= 0 {
			dst = append(dst, '\n')
		}
		last = len(dst)
		dst = append(dst, line...)
	}
	blank := func(line []byte) bool { return len(bytes.TrimSpace(line)) == 0 }
	rest, more := content, true
	for more {
		var line []byte
		line, rest, more = bytes.Cut(rest, []byte("\n"))
		if !blank(line) || last < 0 {
			write(line)
			continue
		}
		// A run of blank lines: what follows it decides what stays (nothing, when it ends
		// the item).
		next, found := []byte(nil), false
		for more && !found {
			next, rest, more = bytes.Cut(rest, []byte("\n"))
			found = !blank(next)
		}
		if !found {
			break
		}
		nextTrim := bytes.TrimLeft(next, " ")
		prev := bytes.TrimLeft(dst[last:], " ")
		switch {
		case startsBlock(nextTrim) && !bytes.HasPrefix(nextTrim, []byte("|")):
		case isFence(prev):
		case !startsBlock(prev) && !bytes.HasPrefix(dst[last:], []byte(" ")):
			dst = append(dst[:last+len(bytes.TrimRight(dst[last:], " "))], "  "...)
		default:
			write(nil)
		}
		write(next)
	}
	return dst
}

// hasBlankLine reports whether a line of md is empty or white space only.
func hasBlankLine(md []byte) bool {
	for rest := md; ; {
		line, after, more := bytes.Cut(rest, []byte("\n"))
		if len(bytes.TrimSpace(line)) == 0 {
			return true
		}
		if !more {
			return false
		}
		rest = after
	}
}

// startsBlock reports whether a (left-trimmed) line of Markdown opens a block that may
// interrupt a paragraph: a list item, heading, fence, quote or table row.
func startsBlock(line []byte) bool {
	if len(line) == 0 {
		return false
	}
	switch line[0] {
	case '#', '>', '|':
		return true
	case '-', '*', '+':
		return len(line) == 1 || line[1] == ' '
	}
	if isFence(line) {
		return true
	}
	i := 0
	for i < len(line) && i < 10 && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(line) || (line[i] != '.' && line[i] != ')') {
		return false
	}
	return i+1 == len(line) || line[i+1] == ' '
}

func isFence(line []byte) bool {
	return bytes.HasPrefix(line, []byte("```")) || bytes.HasPrefix(line, []byte("~~~"))
}

// renderCell renders a table cell as one line per line of the note: paragraphs and line
// breaks are separated by single newlines, which the table plugin turns into <br />.
func renderCell(ctx converter.Context, w converter.Writer, n *html.Node) converter.RenderStatus {
	var buf bytes.Buffer
	ctx.RenderChildNodes(ctx, &buf, n)
	var lines []string
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	w.WriteString(strings.Join(lines, "\n"))
	return converter.RenderSuccess
}

// tidy finishes the converter's output: no trailing white space on any line, a hard line
// break written as a backslash (the converter's two trailing spaces are invisible and
// editors strip them), and exactly one newline at the end.
func tidy(md []byte) string {
	var b strings.Builder
	b.Grow(len(md) + 1)
	var fence byte // '`' or '~' inside a fenced code block
	// Newlines owed before the next non-empty line: the trailing ones are never written, so
	// the result ends in exactly one newline without trimming (and copying) it afterwards.
	pending := 0
	rest, more := md, true
	for more {
		var line []byte
		line, rest, more = bytes.Cut(rest, []byte("\n"))
		trimmed := bytes.TrimLeft(line, " ")
		if fence == 0 && (bytes.HasPrefix(trimmed, []byte("```")) || bytes.HasPrefix(trimmed, []byte("~~~"))) {
			fence = trimmed[0]
		} else if fence != 0 && len(trimmed) >= 3 && trimmed[0] == fence && trimmed[1] == fence && trimmed[2] == fence {
			fence = 0
		}
		out := bytes.TrimRight(line, " \t\u00a0")
		hardBreak := false
		if fence == 0 && more && bytes.HasSuffix(line, []byte("  ")) {
			next, _, _ := bytes.Cut(rest, []byte("\n"))
			next = bytes.TrimLeft(next, " ")
			hardBreak = len(next) > 0 && !startsBlock(next) && len(bytes.TrimSpace(out)) > 0
		}
		if len(out) > 0 {
			for ; pending > 0; pending-- {
				b.WriteByte('\n')
			}
			b.Write(out)
			if hardBreak {
				b.WriteByte('\\')
			}
		}
		pending++
	}
	b.WriteByte('\n')
	return b.String()
}

// encodeDest makes a relative file path usable as a Markdown link destination: characters
// that would end or break it (space, parentheses, brackets, angle brackets, "|" in tables)
// and those a reader would take for URL syntax (% # ?) are percent-encoded; other characters,
// accented letters included, stay readable.
func encodeDest(p string) string {
	k := 0
	for k < len(p) && !destEscaped(p[k]) {
		k++
	}
	if k == len(p) {
		return p // nothing to encode (and no copy)
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if destEscaped(c) {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// destEscaped reports whether encodeDest percent-encodes the byte c.
func destEscaped(c byte) bool {
	return c <= ' ' || c == 0x7f || strings.IndexByte(`()[]<>|%#?"'\`+"`", c) >= 0
}

// encodeURL makes an absolute http(s) URL safe as a destination; it is already URL-encoded,
// so only what Markdown itself would misread is escaped.
func encodeURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	s := pu.String()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(`()[]<>|"'\`+"`", c) >= 0 {
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
