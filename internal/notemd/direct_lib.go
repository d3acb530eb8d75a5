package notemd

// Ports of the html-to-markdown v2.5.2 helpers the direct renderer (direct.go) needs, kept
// byte for byte equivalent to the library's (internal/textutils, internal/escape,
// converter/escape.go, converter/url.go, dom/tags.go; MIT, Copyright (c) 2018 Johannes
// Kaufmann): the library keeps them internal. TestDirectPorts checks the escaping against the
// library's own converter.

import (
	"bytes"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/JohannesKaufmann/html-to-markdown/v2/collapse"
	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"golang.org/x/net/html"
)

const placeholder = '\a' // marker.MarkerEscaping

var codeBlockNewline = []byte("\uF002") // marker.BytesMarkerCodeBlockNewline

// escapedChars are the characters the converter's plugins register with EscapedChar
// (commonmark, strikethrough's ~ and table's |): text gets a placeholder before each.
var escapedChars = func() (t [256]bool) {
	for _, c := range "\\*_-+.>|$#=[]()!~`\"'" {
		t[c] = true
	}
	return t
}()

// appendText is the base and commonmark plugins' text transformation: < and > as entities,
// a placeholder before every Markdown character, NUL as U+FFFD, and inside a link an escaped
// "]" for real.
func appendText(b []byte, s string, inLink bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var rep string
		switch {
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == 0:
			rep = "\uFFFD"
		case c == ']' && inLink:
			rep = `\]`
		case escapedChars[c]:
			b = append(b, s[start:i]...)
			b = append(b, placeholder)
			start = i
			continue
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// unEscape is the converter's unEscapeContent with the commonmark and strikethrough
// unescapers, in their (stable, registration) order: a placeholder becomes a backslash where
// the next character would otherwise be read as Markdown, and disappears elsewhere.
func unEscape(chars []byte) []byte {
	if bytes.IndexByte(chars, placeholder) < 0 {
		return chars
	}
	return unEscapeTo(make([]byte, 0, len(chars)), chars)
}

// unEscapeTo is unEscape appending to out (which must not overlap chars), placeholders or not.
func unEscapeTo(out, chars []byte) []byte {
	next := 0 // placeholders before next were passed over by an unescaper's skip
	for i := 0; ; i++ {
		// The text up to the next placeholder is copied as it is.
		k := bytes.IndexByte(chars[i:], placeholder)
		if k < 0 {
			return append(out, chars[i:]...)
		}
		out = append(out, chars[i:i+k]...)
		i += k
		if i < next || i+1 >= len(chars) {
			continue
		}
		if skip := unEscaper(chars, i+1); skip != -1 {
			out = append(out, '\\')
			next = i + skip
		}
	}
}

func unEscaper(chars []byte, index int) int {
	for _, fn := range [...]func([]byte, int) int{
		isItalicOrBold, isBlockQuote, isAtxHeader, isSetextHeader, isDivider, isOrderedList,
		isUnorderedList, isImageOrLink, isFencedCode, isInlineCode, isBackslash, isStrikethrough,
	} {
		if skip := fn(chars, index); skip != -1 {
			return skip
		}
	}
	return -1
}

func isBackslash(chars []byte, index int) int {
	if chars[index] != '\\' {
		return -1
	}
	return 1
}

func isFencedCode(chars []byte, index int) int {
	if chars[index] != '`' && chars[index] != '~' {
		return -1
	}
	for i := index - 1; i >= 0; i-- {
		if chars[i] == ' ' || chars[i] == placeholder {
			continue
		}
		if chars[i] == '\n' {
			break
		}
		return -1
	}
	count := 1
	i := index + 1
	for ; i < len(chars); i++ {
		if chars[i] == placeholder {
			continue
		}
		if chars[i] == '`' || chars[i] == '~' {
			count++
			continue
		}
		break
	}
	if count < 3 {
		return -1
	}
	return i - index
}

func isInlineCode(chars []byte, index int) int {
	if chars[index] != '`' {
		return -1
	}
	return 1
}

func isDivider(chars []byte, index int) int {
	if chars[index] != '-' && chars[index] != '_' && chars[index] != '*' {
		return -1
	}
	for i := index - 1; i >= 0; i-- {
		if chars[i] == '\n' {
			break
		}
		if chars[i] == placeholder || chars[i] == ' ' {
			continue
		}
		return -1
	}
	count := 1
	lastChar := len(chars)
	for i := index + 1; i < len(chars); i++ {
		if chars[i] == placeholder || chars[i] == ' ' {
			continue
		}
		if chars[i] == chars[index] {
			count++
			continue
		}
		if chars[i] == '\n' {
			lastChar = i
			break
		}
		return -1
	}
	if count >= 3 {
		return lastChar - index
	}
	return -1
}

func isAtxHeader(chars []byte, index int) int {
	if chars[index] != '#' {
		return -1
	}
	for i := index - 1; i >= 0; i-- {
		if chars[i] == '\n' {
			break
		}
		if chars[i] == placeholder || chars[i] == ' ' {
			continue
		}
		return -1
	}
	nPoundSigns := 1
	for i := index + 1; i < len(chars); i++ {
		if chars[i] == '#' {
			nPoundSigns++
			if nPoundSigns > 6 {
				return -1
			}
			continue
		}
		if chars[i] == placeholder {
			continue
		}
		if chars[i] == ' ' || chars[i] == '\t' || chars[i] == '\n' || chars[i] == '\r' {
			return i - index
		}
		return -1
	}
	return 1
}

func isSetextHeader(chars []byte, index int) int {
	if chars[index] != '=' && chars[index] != '-' {
		return -1
	}
	var newlineCount int
	for i := index - 1; i >= 0; i-- {
		if chars[i] == placeholder || chars[i] == ' ' {
			continue
		}
		if chars[i] == '\n' {
			newlineCount++
			continue
		}
		if newlineCount == 1 {
			return 1
		}
		return -1
	}
	return -1
}

func isImageOrLink(chars []byte, index int) int {
	switch chars[index] {
	case '!':
		if index+1 < len(chars) && chars[index+1] == '[' {
			return 1
		}
		return -1
	case '[':
		for i := index + 1; i < len(chars); i++ {
			if chars[i] == '\n' {
				return -1
			}
			if chars[i] == ']' {
				return 1
			}
		}
	}
	return -1
}

func isItalicOrBold(chars []byte, index int) int {
	if chars[index] != '*' && chars[index] != '_' {
		return -1
	}
	next := nextRune(chars, index)
	if unicode.IsSpace(next) || next == 0 {
		return -1
	}
	return 1
}

func isStrikethrough(chars []byte, index int) int {
	if chars[index] != '~' {
		return -1
	}
	next := nextRune(chars, index)
	if unicode.IsSpace(next) || next == 0 {
		return -1
	}
	return 1
}

func isUnorderedList(chars []byte, index int) int {
	if chars[index] != '-' && chars[index] != '*' && chars[index] != '+' {
		return -1
	}
	for i := index - 1; i >= 0; i-- {
		if chars[i] == '\n' {
			break
		}
		if chars[i] == ' ' || chars[i] == placeholder {
			continue
		}
		return -1
	}
	if next := nextByte(chars, index); escSpace(next) || next == 0 {
		return 1
	}
	return -1
}

func isOrderedList(chars []byte, index int) int {
	if chars[index] != '.' && chars[index] != ')' {
		return -1
	}
	if !unicode.IsDigit(prevRune(chars, index)) {
		return -1
	}
	for i := index - 1; i >= 0; i-- {
		if chars[i] == '\n' {
			break
		}
		if chars[i] == ' ' || chars[i] == placeholder || ('0' <= chars[i] && chars[i] <= '9') {
			continue
		}
		return -1
	}
	if next := nextByte(chars, index); escSpace(next) || next == 0 {
		return 1
	}
	return -1
}

func escSpace(b byte) bool {
	switch b {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

func nextByte(chars []byte, index int) byte {
	for i := index + 1; i < len(chars); i++ {
		if chars[i] != placeholder {
			return chars[i]
		}
	}
	return 0
}

func prevRune(chars []byte, index int) rune {
	for i := index - 1; i >= 0; i-- {
		if chars[i] == placeholder {
			continue
		}
		r, _ := utf8.DecodeLastRune(chars[:i+1])
		return r
	}
	return 0
}

func nextRune(chars []byte, index int) rune {
	for i := index + 1; i < len(chars); i++ {
		if chars[i] == placeholder {
			continue
		}
		r, _ := utf8.DecodeRune(chars[i:])
		return r
	}
	return 0
}

// trimConsecutiveNewlinesTo appends textutils.TrimConsecutiveNewlines(input) to result, which
// may be input[:0] (no byte is written before it is read): at most two newlines in a row, the
// spaces between extra newlines dropped. (The library decodes runes; only ASCII bytes matter,
// so bytes give the same result.)
func trimConsecutiveNewlinesTo(result, input []byte) []byte {
	newlines := 0
	spaces := 0 // pending spaces, written before the next kept byte
	for i := 0; i < len(input); {
		switch input[i] {
		case '\n':
			newlines++
			if newlines <= 2 {
				result = appendSpaces(result, spaces)
				result = append(result, '\n')
			}
			spaces = 0
			i++
		case ' ':
			spaces++
			i++
		default:
			// A run of other bytes is kept as it is, in one copy.
			j := i + 1
			for j < len(input) && input[j] != '\n' && input[j] != ' ' {
				j++
			}
			newlines = 0
			result = appendSpaces(result, spaces)
			result = append(result, input[i:j]...)
			spaces = 0
			i = j
		}
	}
	return appendSpaces(result, spaces)
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

// trimUnnecessaryHardLineBreaks is textutils.TrimUnnecessaryHardLineBreaks, done in content.
func trimUnnecessaryHardLineBreaks(content []byte) []byte {
	for _, r := range [...][2]string{{"  \n\n", "\n\n"}, {"  \n  \n", "\n\n"}, {"  \n \n", "\n\n"}} {
		content = replaceShorter(content, []byte(r[0]), []byte(r[1]))
	}
	return content
}

// replaceShorter is bytes.ReplaceAll(b, old, new) done in b, for a new no longer than old:
// what is written never passes what is yet to be read.
func replaceShorter(b, old, new []byte) []byte {
	w, r := 0, 0
	for {
		i := bytes.Index(b[r:], old)
		if i < 0 {
			if r == 0 {
				return b // none
			}
			w += copy(b[w:], b[r:])
			return b[:w]
		}
		w += copy(b[w:], b[r:r+i])
		w += copy(b[w:], new)
		r += i + len(old)
	}
}

// appendReplaced appends bytes.ReplaceAll(s, old, new) to dst.
func appendReplaced(dst, s, old, new []byte) []byte {
	for {
		i := bytes.Index(s, old)
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		dst = append(dst, new...)
		s = s[i+len(old):]
	}
}

// appendRepeat appends n times c.
func appendRepeat(b []byte, c byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, c)
	}
	return b
}

// escapeMultiLine is textutils.EscapeMultiLine (a link's text over several lines).
func escapeMultiLine(content []byte) []byte {
	parts := bytes.Split(content, []byte("\n"))
	if len(parts) == 1 {
		return content
	}
	output := make([]byte, 0, len(content))
	for i := range parts {
		trimmedLeft := bytes.TrimLeftFunc(parts[i], unicode.IsSpace)
		switch {
		case len(trimmedLeft) == 0:
			output = append(output, '\\', '\n')
		case i == len(parts)-1:
			output = append(output, trimmedLeft...)
		case bytes.HasSuffix(trimmedLeft, []byte("  ")):
			output = append(output, trimmedLeft...)
			output = append(output, '\n')
		default:
			output = append(output, trimmedLeft...)
			output = append(output, ' ', ' ', '\n')
		}
	}
	return output
}

// surroundingSpaces is textutils.SurroundingSpaces.
func surroundingSpaces(content []byte) (left, trimmed, right []byte) {
	rightTrimmed := bytes.TrimRightFunc(content, unicode.IsSpace)
	right = content[len(rightTrimmed):]
	trimmed = bytes.TrimLeftFunc(rightTrimmed, unicode.IsSpace)
	left = content[0 : len(rightTrimmed)-len(trimmed)]
	return left, trimmed, right
}

// appendDelimited is textutils.DelimiterForEveryLine: each line's text between delimiters,
// its surrounding spaces outside them.
func appendDelimited(b, text []byte, delim string) []byte {
	for {
		line, rest, more := bytes.Cut(text, []byte("\n"))
		left, trimmed, right := surroundingSpaces(line)
		b = append(b, left...)
		if len(trimmed) > 0 {
			b = append(b, delim...)
			b = append(b, trimmed...)
			b = append(b, delim...)
		}
		b = append(b, right...)
		if !more {
			return b
		}
		b = append(b, '\n')
		text = rest
	}
}

// surroundByQuotes is textutils.SurroundByQuotes (a link title).
func surroundByQuotes(content []byte) []byte {
	if len(content) == 0 {
		return nil
	}
	dq, sq := bytes.ContainsRune(content, '"'), bytes.ContainsRune(content, '\'')
	switch {
	case dq && sq:
		content = bytes.ReplaceAll(content, []byte(`"`), []byte(`\"`))
		return append(append([]byte(`"`), content...), '"')
	case dq:
		return append(append([]byte(`'`), content...), '\'')
	}
	return append(append([]byte(`"`), content...), '"')
}

// collapseInlineCodeContent is textutils.CollapseInlineCodeContent.
func collapseInlineCodeContent(content []byte) []byte {
	content = bytes.ReplaceAll(content, []byte{'\n'}, []byte{' '})
	content = bytes.ReplaceAll(content, []byte{'\t'}, []byte{' '})
	content = bytes.TrimSpace(content)
	out := make([]byte, 0, len(content))
	count := 0
	for _, c := range content {
		if c == ' ' {
			count++
		} else {
			count = 0
		}
		if count > 1 {
			continue
		}
		out = append(out, c)
	}
	return out
}

// longestRun is textutils.CalculateCodeFenceOccurrences for an ASCII fence character.
func longestRun(content []byte, c byte) int {
	longest, run := 0, 0
	for _, b := range content {
		if b == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

var percentEncodingReplacer = strings.NewReplacer(
	" ", "%20", "[", "%5B", "]", "%5D", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E",
)

// assembleURL is the converter's defaultAssembleAbsoluteURL without a domain.
func assembleURL(rawURL string) string {
	rawURL = strings.TrimSpace(rawURL)
	if rawURL == "#" {
		return rawURL
	}
	if _, plain := plainWebPath(rawURL); plain {
		// Parsed and written back it would be itself, with no query to encode.
		return percentEncodingReplacer.Replace(rawURL)
	}
	return assembleURLParsed(rawURL)
}

// assembleURLParsed is assembleURL for any trimmed URL but "#", by parsing it
// (TestResourceIDPlain holds assembleURL's shortcut to it).
func assembleURLParsed(rawURL string) string {
	rawURL = strings.ReplaceAll(rawURL, "\n", "%0A")
	rawURL = strings.ReplaceAll(rawURL, "\t", "%09")
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "data" {
		return percentEncodingReplacer.Replace(rawURL)
	}
	u.RawQuery = converter.ParseAndEncodeQuery(u.RawQuery)
	u.RawQuery = strings.ReplaceAll(u.RawQuery, "+", "%20")
	return percentEncodingReplacer.Replace(u.String())
}

// collapseFuncs are the converter's view of blocks for collapse.Collapse (convBlock), and the
// collapse package's own void and preformatted elements written as switches: its defaults
// compare the name with each of a list, and Collapse asks about every node.
var collapseFuncs = &collapse.DomFuncs{
	IsBlockNode: func(n *html.Node) bool { return convBlock(n.Data) },
	IsVoidNode: func(n *html.Node) bool {
		switch nodeName(n) {
		case "area", "base", "br", "col", "command", "embed", "hr", "img", "input", "keygen",
			"link", "meta", "param", "track", "wbr":
			return true
		}
		return false
	},
	IsPreformattedNode: func(n *html.Node) bool {
		name := nodeName(n)
		return name == "pre" || name == "code"
	},
}

// blockName is dom.NameIsBlockNode.
func blockName(name string) bool {
	switch name {
	case "address", "article", "aside", "blockquote", "details", "dialog", "dd", "div", "dl",
		"dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
		"h6", "header", "hgroup", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
		"ul":
		return true
	}
	return false
}

// convBlock is the converter's view of a block element (its tag type, then dom's list): ours
// registers td and th as blocks, the rest of its registrations agree with dom's list.
func convBlock(name string) bool {
	return blockName(name) || name == "td" || name == "th"
}

// mdStructure is domutils' getMarkdownStructure, for LeafBlockAlternatives.
func mdStructure(name string) (container, leaf, inline bool) {
	switch name {
	case "#document", "html", "head", "body", "blockquote", "ul", "ol", "li":
		return true, false, false
	case "hr", "pre", "h1", "h2", "h3", "h4", "h5", "h6":
		return false, true, false
	case "#text", "span", "code", "b", "strong", "i", "em", "a", "img", "br":
		return false, false, true
	}
	return false, false, false
}

func isBlockQuote(chars []byte, index int) int {
	if chars[index] != '>' {
		return -1
	}
	for i := index - 1; i >= 0; i-- {
		if chars[i] == '\n' {
			break
		}
		if chars[i] == placeholder || chars[i] == ' ' {
			continue
		}
		return -1
	}
	return 1
}
