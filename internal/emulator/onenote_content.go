package emulator

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
)

// contentBase stands for the emulator's URL in cached page HTML; it is replaced with the URL
// the client used when the page is served.
const contentBase = "\x00emulator-base\x00"

// content returns a generated page's output HTML (with contentBase), generating it once.
func (p *onItem) content() string {
	p.genOnce.Do(func() { p.gen = genPageHTML(p) })
	return p.gen
}

func (p *onItem) resourceURL(res *onResource) string {
	return oneNoteResourceURL(contentBase, p.owner.upn, res.id)
}

// oneNoteResourceURL is the URL of resource id of user upn on base, as Graph writes it in
// page HTML: <base>/v1.0/users('<upn>')/onenote/resources/<id>/$value.
func oneNoteResourceURL(base, upn, id string) string {
	return base + "/v1.0/users('" + upn + "')/onenote/resources/" + id + "/$value"
}

// imgTag renders an image as OneNote's output HTML does.
func (p *onItem) imgTag(im imagePair) string {
	return fmt.Sprintf(`<img width="%d" height="%d" alt="%s" src="%s" data-src-type="image/png" data-fullres-src="%s" data-fullres-src-type="image/png" />`,
		im.small.w, im.small.h, html.EscapeString(im.alt), p.resourceURL(im.small), p.resourceURL(im.full))
}

var (
	people   = []string{"Alex", "Priya", "Zoë", "Jonas", "Mei", "Samir", "Olga"}
	subjects = []string{"the export job", "the sign-in flow", "quarterly budget", "the vendor contract", "release 2.3", "the new dashboard", "on-call rota"}
	verbs    = []string{"review", "draft", "ship", "measure", "simplify", "document", "test"}
)

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// genPageHTML writes realistic OneNote output HTML for a generated page: several absolutely
// positioned divs (not in top-to-bottom order), inline styles, headings, nested lists with
// note tags, a table with a multi-paragraph cell and a cell with two images, images with
// full-resolution twins, a self-closing <object/> for an attachment, Consolas text and text
// that looks like Markdown.
func genPageHTML(p *onItem) string {
	r := rand.New(rand.NewPCG(p.seed, 0x6f6e656e6f7465))
	var b strings.Builder
	title := html.EscapeString(p.name)
	created := p.created.UTC().Format("2006-01-02T15:04:05.0000000")
	fmt.Fprintf(&b, "<html lang=\"en-US\">\n\t<head>\n\t\t<title>%s</title>\n\t\t<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\" />\n\t\t<meta name=\"created\" content=\"%s\" />\n\t</head>\n", title, created)
	b.WriteString("\t<body data-absolute-enabled=\"true\" style=\"font-family:Calibri;font-size:11pt\">\n")

	// The main outline. It comes first in the source but a summary div sits above it.
	fmt.Fprintf(&b, "\t\t<div data-id=\"_default\" style=\"position:absolute;left:48px;top:120px;width:624px\">\n")
	fmt.Fprintf(&b, "\t\t\t<h1 style=\"font-size:16pt;color:#1e4e79;margin-top:0pt;margin-bottom:0pt\">%s</h1>\n", title)
	fmt.Fprintf(&b, "\t\t\t<p style=\"color:#595959;font-size:9pt;margin-top:0pt;margin-bottom:0pt\">%s</p>\n", p.created.UTC().Format("Monday, 2 January 2006 15:04"))
	fmt.Fprintf(&b, "\t\t\t<p>We agreed to <span style=\"font-weight:bold\">%s %s</span> before Friday, <span style=\"font-style:italic\">if %s has time</span>; the <span style=\"text-decoration:line-through\">old plan</span> is dropped. <span style=\"font-weight:bold;font-style:italic\">Both</span> matter.</p>\n",
		pick(r, verbs), pick(r, subjects), pick(r, people))
	b.WriteString("\t\t\t<h2 style=\"font-size:13.5pt;color:#2e75b5;margin-top:0pt;margin-bottom:0pt\">Action items</h2>\n")
	b.WriteString("\t\t\t<ul>\n")
	fmt.Fprintf(&b, "\t\t\t\t<li><span data-tag=\"to-do\">%s to %s %s</span></li>\n", pick(r, people), pick(r, verbs), pick(r, subjects))
	fmt.Fprintf(&b, "\t\t\t\t<li><span data-tag=\"to-do:completed\">Send the notes to %s</span></li>\n", pick(r, people))
	fmt.Fprintf(&b, "\t\t\t\t<li>Open points\n\t\t\t\t\t<ul>\n\t\t\t\t\t\t<li style=\"list-style-type:circle\"><span data-tag=\"to-do\">Check %s</span></li>\n\t\t\t\t\t\t<li style=\"list-style-type:circle\">Ask about %s\n\t\t\t\t\t\t\t<ul><li style=\"list-style-type:square\">third level: %s</li></ul>\n\t\t\t\t\t\t</li>\n\t\t\t\t\t</ul>\n\t\t\t\t</li>\n",
		pick(r, subjects), pick(r, subjects), pick(r, verbs))
	b.WriteString("\t\t\t</ul>\n")
	b.WriteString("\t\t\t<ol>\n")
	fmt.Fprintf(&b, "\t\t\t\t<li>Review the draft of %s</li>\n\t\t\t\t<li>Decide on %s\n\t\t\t\t\t<ol><li style=\"list-style-type:lower-alpha\">option A</li><li style=\"list-style-type:lower-alpha\">option B</li></ol>\n\t\t\t\t</li>\n", pick(r, subjects), pick(r, subjects))
	b.WriteString("\t\t\t</ol>\n")
	fmt.Fprintf(&b, "\t\t\t<p data-tag=\"to-do:completed\">Book the room for %s</p>\n", pick(r, people))
	fmt.Fprintf(&b, "\t\t\t<p data-tag=\"important\">Deadline for %s moved to next week</p>\n", pick(r, subjects))
	fmt.Fprintf(&b, "\t\t\t<p data-tag=\"question\">Who owns %s?</p>\n", pick(r, subjects))
	b.WriteString("\t\t\t<p data-tag=\"to-do,important\">Renew the certificate</p>\n")
	if r.IntN(2) == 0 {
		b.WriteString("\t\t\t<p data-tag=\"remember-for-later,critical\">Keep the rollback plan ready</p>\n")
	}
	b.WriteString("\t\t\t<h3 style=\"font-size:12pt;color:#1f3763;margin-top:0pt;margin-bottom:0pt\">Commands</h3>\n")
	fmt.Fprintf(&b, "\t\t\t<p style=\"margin-top:0pt;margin-bottom:0pt\"><span style=\"font-family:Consolas\">go test -race ./internal/...</span></p>\n")
	fmt.Fprintf(&b, "\t\t\t<p style=\"margin-top:0pt;margin-bottom:0pt\"><span style=\"font-family:Consolas\">curl -s \"https://example.test/api?id=%d&amp;v=2\" | jq .</span></p>\n", r.IntN(1000))
	b.WriteString("\t\t\t<p># not a heading, *stars* and _underscores_, 1. not a list, [not](a link) &amp; a &lt;tag&gt;</p>\n")
	b.WriteString("\t\t\t<p>Quotes “like these”, a ✓ and a long dash — fine.</p>\n")
	images := p.images
	var inCell []imagePair
	switch {
	case len(images) == 2:
		inCell, images = images, nil
	case len(images) >= 3:
		inCell = images[1:3]
		images = append([]imagePair{images[0]}, images[3:]...)
	}
	for _, im := range images {
		fmt.Fprintf(&b, "\t\t\t%s\n", p.imgTag(im))
	}
	if p.attachment != nil {
		fmt.Fprintf(&b, "\t\t\t<object data=\"%s\" data-attachment=\"%s\" type=\"application/pdf\" />\n", p.resourceURL(p.attachment), html.EscapeString(p.attachment.name))
	}
	b.WriteString("\t\t</div>\n")

	// A short summary above the main outline, later in the source.
	if r.IntN(3) != 0 {
		fmt.Fprintf(&b, "\t\t<div style=\"position:absolute;left:48px;top:%dpx;width:624px\">\n\t\t\t<p><span style=\"font-weight:bold\">Summary:</span> %s will %s %s.</p>\n\t\t</div>\n",
			40+r.IntN(30), pick(r, people), pick(r, verbs), pick(r, subjects))
	}

	// A table below, with a multi-paragraph cell, the cell with two images and sometimes a
	// nested table.
	if len(inCell) > 0 || r.IntN(2) == 0 {
		fmt.Fprintf(&b, "\t\t<div style=\"position:absolute;left:48px;top:%dpx;width:624px\">\n", 760+r.IntN(200))
		b.WriteString("\t\t\t<table style=\"border:1px solid;border-collapse:collapse\">\n")
		b.WriteString("\t\t\t\t<tr>\n\t\t\t\t\t<td style=\"border:1px solid;background-color:#D9E2F3;width:1.5in\"><p><span style=\"font-weight:bold\">Item</span></p></td>\n\t\t\t\t\t<td style=\"border:1px solid;background-color:#D9E2F3;width:3in\"><p><span style=\"font-weight:bold\">Notes</span></p></td>\n\t\t\t\t</tr>\n")
		fmt.Fprintf(&b, "\t\t\t\t<tr>\n\t\t\t\t\t<td style=\"border:1px solid\"><p>Owner</p></td>\n\t\t\t\t\t<td style=\"border:1px solid\"><p>%s</p><p>backup: %s</p><p data-tag=\"to-do\">confirm</p></td>\n\t\t\t\t</tr>\n", pick(r, people), pick(r, people))
		if len(inCell) > 0 {
			b.WriteString("\t\t\t\t<tr>\n\t\t\t\t\t<td style=\"border:1px solid\"><p>Screens</p></td>\n\t\t\t\t\t<td style=\"border:1px solid\">")
			for _, im := range inCell {
				b.WriteString(p.imgTag(im))
			}
			b.WriteString("</td>\n\t\t\t\t</tr>\n")
		}
		if r.IntN(3) == 0 {
			b.WriteString("\t\t\t\t<tr>\n\t\t\t\t\t<td style=\"border:1px solid\"><p>Split</p></td>\n\t\t\t\t\t<td style=\"border:1px solid\"><table style=\"border:1px solid;border-collapse:collapse\"><tr><td style=\"border:1px solid\"><p>inner a</p></td><td style=\"border:1px solid\"><p>inner | b</p></td></tr></table></td>\n\t\t\t\t</tr>\n")
		}
		b.WriteString("\t\t\t</table>\n\t\t</div>\n")
	}
	b.WriteString("\t</body>\n</html>\n")
	return b.String()
}

// idTags are the elements includeIDs=true gives an id.
var idTags = []string{"<div", "<p", "<h1", "<h2", "<h3", "<li", "<img", "<table", "<object"}

// withIDs adds OneNote-style generated ids ("p:{guid}{n}") to the elements of a generated page.
func withIDs(page string, p *onItem) string {
	guid := fmt.Sprintf("%016x", p.seed)
	guid = guid[:8] + "-" + guid[8:12] + "-" + guid[12:16]
	var b strings.Builder
	n := 0
	for i := 0; i < len(page); {
		matched := ""
		if page[i] == '<' {
			for _, t := range idTags {
				if strings.HasPrefix(page[i:], t) && i+len(t) < len(page) && (page[i+len(t)] == ' ' || page[i+len(t)] == '>') {
					matched = t
					break
				}
			}
		}
		if matched == "" {
			b.WriteByte(page[i])
			i++
			continue
		}
		n++
		fmt.Fprintf(&b, "%s id=\"%s:{%s-0000-0000-%012d}%d\"", matched, matched[1:], guid, p.order, n)
		i += len(matched)
	}
	return b.String()
}

// serveOneNoteContent serves GET .../pages/{id}/content.
func (s *Server) serveOneNoteContent(w http.ResponseWriter, r *http.Request, rc *renderCtx, id string) int {
	q, gerr := parseODataQuery(r.URL.Query(), false, kPage, false, true)
	if gerr != nil {
		s.writeGraphError(w, r, gerr, 0)
		return gerr.status
	}
	p := rc.store.lookup(rc.user, kPage, id)
	if p == nil {
		return s.oneNoteNotFound(w, r)
	}
	var body string
	if p.custom {
		body = p.html
	} else {
		body = p.content()
		if q.includeIDs {
			body = withIDs(body, p)
		}
		body = strings.ReplaceAll(body, contentBase, rc.base)
	}
	s.graphHeaders(w, r)
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
	return http.StatusOK
}

// serveOneNoteResource serves GET .../resources/{id}/$value (and /content) as
// application/octet-stream, as Graph often does.
func (s *Server) serveOneNoteResource(w http.ResponseWriter, r *http.Request, u *onUser, id string) int {
	for k := range r.URL.Query() {
		if strings.HasPrefix(k, "$") {
			e := odataErr("20108", "The query parameter '"+k+"' is not supported on this resource.")
			s.writeGraphError(w, r, e, 0)
			return e.status
		}
	}
	st := s.onenote.store
	st.mu.RLock()
	res := st.resources[id]
	st.mu.RUnlock()
	if res == nil || res.owner != u {
		return s.oneNoteNotFound(w, r)
	}
	data := res.bytes()
	s.graphHeaders(w, r)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
	return http.StatusOK
}

// genPNG draws a w×h picture that differs by seed: a gradient, a few shapes and a little
// noise, so the file is a few KB.
func genPNG(w, h int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x706e67))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	c1 := [3]int{r.IntN(200), r.IntN(200), r.IntN(200)}
	c2 := [3]int{55 + r.IntN(200), 55 + r.IntN(200), 55 + r.IntN(200)}
	type rect struct {
		x0, y0, x1, y1 int
		c              color.NRGBA
	}
	var shapes []rect
	for range 2 + r.IntN(3) {
		x0, y0 := r.IntN(w), r.IntN(h)
		shapes = append(shapes, rect{x0, y0, x0 + w/6 + r.IntN(w/3+1), y0 + h/6 + r.IntN(h/3+1),
			color.NRGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}})
	}
	for y := range h {
		for x := range w {
			t := (x + y) * 255 / (w + h)
			px := color.NRGBA{A: 255}
			px.R = uint8((c1[0]*(255-t) + c2[0]*t) / 255)
			px.G = uint8((c1[1]*(255-t) + c2[1]*t) / 255)
			px.B = uint8((c1[2]*(255-t) + c2[2]*t) / 255)
			for _, s := range shapes {
				if x >= s.x0 && x < s.x1 && y >= s.y0 && y < s.y1 {
					px = s.c
				}
			}
			if n := r.Uint32(); n&63 == 0 {
				px.R ^= uint8(n>>8) & 3
				px.G ^= uint8(n>>16) & 3
			}
			img.SetNRGBA(x, y, px)
		}
	}
	var buf bytes.Buffer
	_ = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img)
	return buf.Bytes()
}

// genPDF writes a tiny one-page PDF with a correct cross-reference table.
func genPDF(title string, seed uint64) []byte {
	esc := strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`).Replace(title)
	stream := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s) Tj ET\nBT /F1 10 Tf 72 700 Td (Attachment generated by the graphauth emulator, %016x) Tj ET\n", esc, seed)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
