package notemd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// onenoteLikePage generates a page of about size bytes in the shape of Graph's output HTML
// (onenote-notes.md), with the variety the direct renderer must match the library on:
// headings, styled spans, nested lists, to-dos and every note tag, tables with multi-line
// cells and images, Consolas code, links, images, attachments, videos, MathML, text that
// looks like Markdown, entities, non-ASCII text and white space in odd places.
func onenoteLikePage(r *rand.Rand, size int) []byte {
	g := &pageGen{r: r}
	b := &g.b
	b.WriteString(`<html lang="en-US"><head><title>` + g.words(1, 4) + `</title><meta http-equiv="Content-Type" content="text/html; charset=utf-8" /></head>`)
	b.WriteString(`<body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(b, `<div data-id="_%d" style="position:absolute;left:%dpx;top:%dpx;width:624px">%s`, i, 48+r.IntN(3)*200, r.IntN(2000), g.ws())
		for range 1 + r.IntN(6) {
			g.block(0)
			b.WriteString(g.ws())
		}
		b.WriteString(`</div>`)
	}
	b.WriteString(`</body></html>`)
	return []byte(b.String())
}

type pageGen struct {
	r *rand.Rand
	b strings.Builder
}

var genWords = []string{
	"note", "plan", "Meeting", "budget", "é", "naïve", "中文", "日本語", "😀", "שלום", "straße", "x",
	"# h", "- item", "+ plus", "1. one", "2) two", "*star*", "_under_", "**bold**", "`tick`", "```",
	"~~gone~~", "[link](x)", "![img](y)", "> quote", "---", "===", "***", "| a | b |", `back\slash`,
	"&amp;", "&lt;tag&gt;", "&nbsp;", "&#x2014;", "&quot;q&quot;", "it's", "$5", "a.b", "(paren)",
	"!bang", "~tilde", "=eq", "#hash#", "1.", "10)", "a_b_c", "a*b*c", "\t", "&#160;",
}

func (g *pageGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *pageGen) words(lo, hi int) string {
	n := lo + g.r.IntN(hi-lo+1)
	var parts []string
	for range n {
		parts = append(parts, g.pick(genWords))
	}
	sep := " "
	if g.r.IntN(8) == 0 {
		sep = g.pick([]string{"  ", "\n", " \n ", "&nbsp;", "\t"})
	}
	return strings.Join(parts, sep)
}

// ws is the white space Graph puts between elements (often none).
func (g *pageGen) ws() string {
	return g.pick([]string{"", "", "", "\n", "\n\t\t", " "})
}

var genStyles = []string{
	"font-weight:bold", "font-style:italic", "text-decoration:underline", "text-decoration:line-through",
	"font-weight:bold;font-style:italic", "font-weight:700;text-decoration:underline line-through",
	"font-family:Consolas", "font-family:Consolas;font-size:10pt", "color:#ff0000", "font-size:14pt",
	"font-weight:bold;font-family:Consolas", "background-color:yellow", "font-style:italic;color:blue",
}

var genTags = func() []string {
	var tags []string
	for name, t := range noteTags {
		tags = append(tags, name)
		if t.check {
			tags = append(tags, name+":completed")
		}
	}
	slices.Sort(tags)
	return append(tags, "idea, send-in-email", "to-do,important", "made-up-tag", "critical, to-do:completed")
}()

func (g *pageGen) resource(kind string) string {
	return fmt.Sprintf("https://graph.microsoft.com/v1.0/me/onenote/resources/0-%s%d!1-x/$value", kind, g.r.IntN(50))
}

// inline writes a run of inline content.
func (g *pageGen) inline(depth int) {
	b := &g.b
	for i := range 1 + g.r.IntN(4) {
		if i > 0 && g.r.IntN(6) != 0 {
			b.WriteString(" ") // OneNote mostly has text between styled runs
		}
		switch k := g.r.IntN(20); {
		case k < 7 || depth > 1:
			b.WriteString(g.words(1, 6))
		case k < 12:
			fmt.Fprintf(b, `<span style="%s">`, g.pick(genStyles))
			if g.r.IntN(5) == 0 {
				b.WriteString(g.pick([]string{" ", "", "&nbsp;"}))
			}
			g.inline(depth + 1)
			if g.r.IntN(5) == 0 {
				b.WriteString(" ")
			}
			b.WriteString(`</span>`)
			if g.r.IntN(3) == 0 {
				b.WriteString(g.pick([]string{" ", "", ", "}))
			}
		case k < 14:
			href := g.pick([]string{"https://example.com/a?b=1&amp;c=d e", "mailto:anna@example.com", "javascript:alert(1)",
				"https://example.com/(x)", "onenote:https://x", "https://example.com/#frag", " https://example.com/sp "})
			fmt.Fprintf(b, `<a href="%s">`, href)
			if g.r.IntN(6) != 0 {
				g.inline(depth + 1)
			}
			b.WriteString(`</a>`)
		case k < 15:
			b.WriteString(`<br />`)
		case k < 16:
			fmt.Fprintf(b, `<img src="%s" data-src-type="image/png" alt="%s" width="10" height="10" />`, g.resource("i"),
				g.pick([]string{"", "pic", "a]|(b", "*x*", "two  words"}))
		case k < 17:
			b.WriteString(g.pick([]string{
				`<math><msqrt><mi>x</mi></msqrt><mo>+</mo><msub><mi>a</mi><mn>1</mn></msub></math>`,
				`<math xmlns="http://www.w3.org/1998/Math/MathML"><mfrac><mi>a</mi><mrow><mi>b</mi><mo>+</mo><mn>1</mn></mrow></mfrac></math>`,
			}))
		case k < 18:
			fmt.Fprintf(b, `<b>%s</b>`, g.words(1, 2))
		case k < 19:
			fmt.Fprintf(b, `<i>%s</i>`, g.words(1, 2))
		default:
			b.WriteString(g.pick([]string{`<!-- c -->`, `<span></span>`, `<sup>2</sup>`, `<u>u</u>`, `<span style="font-family:Consolas">` + "a `b`" + `</span>`}))
		}
	}
}

// block writes one block of an outline.
func (g *pageGen) block(depth int) {
	b := &g.b
	r := g.r
	switch k := r.IntN(24); {
	case k < 6:
		b.WriteString(`<p style="margin-top:0pt;margin-bottom:0pt">`)
		g.inline(0)
		b.WriteString(`</p>`)
	case k < 8:
		h := 1 + r.IntN(6)
		tag := ""
		if r.IntN(4) == 0 {
			tag = ` data-tag="` + g.pick(genTags) + `"`
		}
		fmt.Fprintf(b, `<h%d%s style="font-size:14pt">`, h, tag)
		g.inline(1)
		fmt.Fprintf(b, `</h%d>`, h)
	case k < 11:
		fmt.Fprintf(b, `<p data-tag="%s">`, g.pick(genTags))
		g.inline(1)
		b.WriteString(`</p>`)
	case k < 15 && depth < 3:
		g.list(depth)
	case k < 17 && depth == 0:
		g.table()
	case k < 19:
		for range 1 + r.IntN(4) {
			switch r.IntN(5) {
			case 0:
				b.WriteString(`<p>&nbsp;</p>`)
			default:
				fmt.Fprintf(b, `<p style="font-family:Consolas">%s%s</p>`, strings.Repeat("&nbsp;", r.IntN(5)),
					g.pick([]string{"if x {", "y()", "}", "a `b` c", "&lt;tag&gt; &amp; \"q\"", "``` fence", "x := 1  // c", "\ttab"}))
			}
		}
	case k < 20:
		fmt.Fprintf(b, `<img src="%s" data-src-type="image/jpeg" data-fullres-src="%s" data-fullres-src-type="image/jpeg" alt="%s" />`,
			g.resource("f"), g.resource("F"), g.words(0, 2))
	case k < 21:
		fmt.Fprintf(b, `<object data="%s" data-attachment="%s" type="application/pdf" />`, g.resource("o"),
			g.pick([]string{"report.pdf", "a b (1).pdf", "x[1].docx", "naïve.txt"}))
	case k < 22:
		b.WriteString(g.pick([]string{
			`<iframe data-original-src="https://www.youtube.com/watch?v=abc" src="https://www.youtube.com/embed/abc" />`,
			`<img src="https://cdn.example.org/x.png" alt="ext" />`,
			`<img src="data:image/png;base64,AAAA" alt="d" />`,
			`<p>a<br />b<br /><br />c</p>`,
		}))
	default:
		fmt.Fprintf(b, `<p><span style="%s">%s</span></p>`, g.pick(genStyles), g.words(1, 4))
	}
}

func (g *pageGen) list(depth int) {
	b := &g.b
	r := g.r
	tag := g.pick([]string{"ul", "ol"})
	fmt.Fprintf(b, `<%s>%s`, tag, g.ws())
	for i := range 1 + r.IntN(4) {
		switch {
		case r.IntN(6) == 0 && i > 0:
			g.list(depth + 1) // a list directly in a list, as OneNote writes nested lists
		default:
			style := ""
			if r.IntN(3) == 0 {
				style = ` style="list-style-type:disc"`
			}
			fmt.Fprintf(b, `<li%s>`, style)
			if r.IntN(3) == 0 {
				fmt.Fprintf(b, `<span data-tag="%s">`, g.pick(genTags))
				g.inline(1)
				b.WriteString(`</span>`)
			} else {
				g.inline(1)
			}
			if r.IntN(3) == 0 && depth < 3 {
				g.list(depth + 1)
			}
			b.WriteString(`</li>`)
		}
		b.WriteString(g.ws())
	}
	fmt.Fprintf(b, `</%s>`, tag)
}

func (g *pageGen) table() {
	b := &g.b
	r := g.r
	cols := 1 + r.IntN(4)
	b.WriteString(`<table style="border:1px solid;border-collapse:collapse">`)
	for row := range 1 + r.IntN(4) {
		b.WriteString(`<tr>`)
		for range cols {
			b.WriteString(`<td style="border:1px solid">`)
			switch r.IntN(9) {
			case 0:
				fmt.Fprintf(b, `<p>%s</p><p>%s</p>`, g.words(1, 2), g.words(1, 2))
			case 1:
				fmt.Fprintf(b, `<img src="%s" data-src-type="image/png" alt="%s" />`, g.resource("t"), g.words(0, 1))
			case 2:
				g.list(2)
			case 3:
				fmt.Fprintf(b, `<table><tr><td>%s</td><td>%s</td></tr></table>`, g.words(1, 2), g.words(1, 2))
			case 4:
				fmt.Fprintf(b, `<p data-tag="%s">%s</p>`, g.pick(genTags), g.words(1, 2))
			case 5:
				if row == 0 {
					fmt.Fprintf(b, `<p style="font-weight:bold">%s</p>`, g.words(1, 2))
				} else {
					fmt.Fprintf(b, `<span style="font-family:Consolas">%s</span>`, g.words(1, 2))
				}
			case 6:
			default:
				g.inline(1)
			}
			b.WriteString(`</td>`)
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table>`)
}
