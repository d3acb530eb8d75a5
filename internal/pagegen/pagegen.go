// Package pagegen makes OneNote page HTML of a given size, as Graph serves a typed page: the
// page make perf measures the OneNote routes with (cmd/perf), and which internal/notemd's tests
// require the direct Markdown renderer to take. One generator, so the two cannot drift apart.
package pagegen

import (
	"fmt"
	"html"
	"strings"
)

// Page is OneNote output HTML of about size bytes: headings, paragraphs with inline
// formatting and links, to-do and bulleted lists, and a table every few blocks, as Graph serves a
// typed page (no images, so the Markdown download is one .md file).
func Page(title string, size int) string {
	var b strings.Builder
	b.WriteString(`<html lang="en-US"><head><title>` + html.EscapeString(title) + `</title>` +
		`<meta http-equiv="Content-type" content="text/html; charset=utf-8" />` +
		`<meta name="created" content="2026-01-05T09:00:00.0000000" /></head>` +
		`<body data-absolute-enabled="true" style="font-family:Calibri;font-size:11pt">` +
		`<div id="div:{1}" data-id="_default" style="position:absolute;left:48px;top:115px;width:624px">`)
	for i := 0; b.Len() < size-200; i++ {
		switch i % 6 {
		case 0:
			fmt.Fprintf(&b, `<h2 style="font-size:14pt;color:#2e75b5;margin-top:0pt;margin-bottom:0pt">Section %d</h2>`, i/6+1)
		case 1, 4:
			fmt.Fprintf(&b, `<p style="margin-top:0pt;margin-bottom:0pt">Paragraph %d with <span style="font-weight:bold">bold</span>, `+
				`<span style="font-style:italic">italic</span> and a <a href="https://example.com/item/%d">link to item %d</a>; `+
				`the rest is ordinary text &amp; entities &lt;like these&gt; that a meeting note would have.</p>`, i, i, i)
		case 2:
			b.WriteString(`<ul>`)
			for j := 0; j < 4; j++ {
				fmt.Fprintf(&b, `<li data-tag="to-do%s">Action %d.%d for the team</li>`, map[bool]string{true: ":completed", false: ""}[j%2 == 0], i, j)
			}
			b.WriteString(`</ul>`)
		case 3:
			b.WriteString(`<table style="border:1px solid;border-collapse:collapse"><tr><td style="border:1px solid">Owner</td><td style="border:1px solid">Due</td><td style="border:1px solid">State</td></tr>`)
			for j := 0; j < 3; j++ {
				fmt.Fprintf(&b, `<tr><td style="border:1px solid">Person %d</td><td style="border:1px solid">2026-02-%02d</td><td style="border:1px solid">open</td></tr>`, j, j+1)
			}
			b.WriteString(`</table>`)
		case 5:
			fmt.Fprintf(&b, `<p style="margin-top:0pt;margin-bottom:0pt"><span style="font-family:Consolas">code_%d()</span> returned <span style="color:red">%d</span> errors.</p>`, i, i%7)
		}
	}
	b.WriteString(`</div></body></html>`)
	return b.String()
}
